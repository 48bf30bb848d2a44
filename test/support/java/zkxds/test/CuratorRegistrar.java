// A real Apache Curator ServiceDiscovery registrar for integration tests (Debian's
// libcurator-discovery-java). It registers the instances described by the JSON in env
// ZKXDS_REGISTRAR_SPEC, prints REGISTERED, keeps its session (and so the ephemeral registrations)
// until its stdin closes, then unregisters and exits. Digest credentials, when needed, come in env
// ZKXDS_REGISTRAR_DIGEST (never on the command line); the nodes it creates are then readable only
// with them (CREATOR_ALL_ACL).
//
// Spec: {"connect": "127.0.0.1:2181", "instances": [{"kind": "curator" | "spring" | "dubbo3",
//        "basePath": "/services", "name": "orders", "id": "o-1", "address": "127.0.0.1", "port": 1,
//        "enabled": true, "metadata": {"k": "v"}}]}
package zkxds.test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.ACLProvider;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.curator.x.discovery.ServiceInstanceBuilder;
import org.apache.curator.x.discovery.details.JsonInstanceSerializer;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.data.ACL;

public final class CuratorRegistrar {
    private CuratorRegistrar() {}

    public static void main(String[] args) throws Exception {
        JsonNode spec = new ObjectMapper().readTree(System.getenv("ZKXDS_REGISTRAR_SPEC"));
        String digest = System.getenv("ZKXDS_REGISTRAR_DIGEST");
        CuratorFrameworkFactory.Builder builder = CuratorFrameworkFactory.builder()
                .connectString(spec.get("connect").asText())
                .sessionTimeoutMs(10_000)
                .retryPolicy(new ExponentialBackoffRetry(200, 10));
        if (digest != null && !digest.isEmpty()) {
            builder = builder.authorization("digest", digest.getBytes(StandardCharsets.UTF_8)).aclProvider(new CreatorOnly());
        }
        CuratorFramework client = builder.build();
        client.start();
        client.blockUntilConnected();
        List<ServiceDiscovery<?>> discoveries = new ArrayList<>();
        for (JsonNode node : spec.get("instances")) {
            String kind = node.get("kind").asText();
            String name = node.get("name").asText();
            String id = node.get("id").asText();
            Map<String, String> metadata = new LinkedHashMap<>();
            if (node.has("metadata")) {
                for (Iterator<Map.Entry<String, JsonNode>> it = node.get("metadata").fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    metadata.put(e.getKey(), e.getValue().asText());
                }
            }
            switch (kind) {
                case "spring":
                    discoveries.add(register(client, org.springframework.cloud.zookeeper.discovery.ZookeeperInstance.class,
                            new org.springframework.cloud.zookeeper.discovery.ZookeeperInstance(id, name, metadata), node));
                    break;
                case "dubbo3":
                    discoveries.add(register(client, org.apache.dubbo.registry.zookeeper.ZookeeperInstance.class,
                            new org.apache.dubbo.registry.zookeeper.ZookeeperInstance(id, name, metadata), node));
                    break;
                default:
                    discoveries.add(register(client, Object.class, null, node));
            }
        }
        System.out.println("REGISTERED");
        System.out.flush();
        while (System.in.read() != -1) {
            // Runs until the test closes stdin.
        }
        for (ServiceDiscovery<?> d : discoveries) d.close();
        client.close();
    }

    private static <T> ServiceDiscovery<T> register(CuratorFramework client, Class<T> payloadClass, T payload, JsonNode node) throws Exception {
        ServiceDiscovery<T> discovery = ServiceDiscoveryBuilder.builder(payloadClass)
                .client(client)
                .basePath(node.get("basePath").asText())
                // Curator's default (compatible) serialization leaves `enabled` out; an instance that
                // sets it is written in the newer mode, which includes it.
                .serializer(new JsonInstanceSerializer<>(payloadClass, !node.has("enabled")))
                .build();
        discovery.start();
        ServiceInstanceBuilder<T> instance = ServiceInstance.<T>builder()
                .name(node.get("name").asText())
                .id(node.get("id").asText())
                .address(node.get("address").asText())
                .port(node.get("port").asInt())
                .payload(payload);
        if (node.has("enabled")) instance = instance.enabled(node.get("enabled").asBoolean());
        discovery.registerService(instance.build());
        return discovery;
    }

    /** Nodes readable and writable only by the authenticated creator. */
    private static final class CreatorOnly implements ACLProvider {
        @Override
        public List<ACL> getDefaultAcl() {
            return ZooDefs.Ids.CREATOR_ALL_ACL;
        }

        @Override
        public List<ACL> getAclForPath(String path) {
            return ZooDefs.Ids.CREATOR_ALL_ACL;
        }
    }
}
