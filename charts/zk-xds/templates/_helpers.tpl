{{/* Chart name, overridable. */}}
{{- define "zk-xds.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: the release name when it already holds the chart name. */}}
{{- define "zk-xds.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "zk-xds.selectorLabels" -}}
app.kubernetes.io/name: {{ include "zk-xds.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "zk-xds.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "zk-xds.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "zk-xds.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "zk-xds.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Namespace the ServiceEntries (MCP and CR mode) belong to. */}}
{{- define "zk-xds.istioNamespace" -}}
{{- default .Release.Namespace .Values.istio.namespace -}}
{{- end -}}

{{/* Name of the Secret holding the ZooKeeper digests; empty when there is none. */}}
{{- define "zk-xds.credentialsSecret" -}}
{{- if .Values.zookeeper.credentials.existingSecret -}}
{{- .Values.zookeeper.credentials.existingSecret -}}
{{- else if .Values.zookeeper.credentials.values -}}
{{- printf "%s-zk-auth" (include "zk-xds.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* Secret holding the xDS server certificate (tls.crt, tls.key); empty: plaintext xDS. */}}
{{- define "zk-xds.xdsTlsSecret" -}}
{{- if .Values.xds.tls.existingSecret -}}
{{- .Values.xds.tls.existingSecret -}}
{{- else if .Values.xds.tls.certManager.issuerRef.name -}}
{{- printf "%s-xds-tls" (include "zk-xds.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* True when client certificates are required (mutual TLS on the xDS port). */}}
{{- define "zk-xds.xdsMutualTls" -}}
{{- if or .Values.xds.tls.clientCa.fromCertificateSecret .Values.xds.tls.clientCa.secretName -}}true{{- end -}}
{{- end -}}

{{/* The identities file (ZKXDS_XDS_IDENTITIES_FILE) built from xds.tls.identities. */}}
{{- define "zk-xds.identitiesFile" -}}
identities:
{{- range $id, $clusters := .Values.xds.tls.identities }}
  {{ $id | quote }}: {{ $clusters | toJson }}
{{- end }}
{{- end -}}

{{/* Where the credentials Secret is mounted: one file per key. */}}
{{- define "zk-xds.authDir" -}}/etc/zk-xds/zk-auth{{- end -}}
{{- define "zk-xds.adminTokenDir" -}}/etc/zk-xds/admin-token{{- end -}}
{{- define "zk-xds.sourcesDir" -}}/etc/zk-xds/sources{{- end -}}
{{- define "zk-xds.xdsTlsDir" -}}/etc/zk-xds/xds-tls{{- end -}}
{{- define "zk-xds.xdsClientCaDir" -}}/etc/zk-xds/xds-client-ca{{- end -}}
{{- define "zk-xds.identitiesDir" -}}/etc/zk-xds/xds-identities{{- end -}}

{{/* Every authKey the values refer to must exist where the chart can see it. */}}
{{- define "zk-xds.validate" -}}
{{- $secret := include "zk-xds.credentialsSecret" . -}}
{{- if and .Values.zookeeper.credentials.existingSecret .Values.zookeeper.credentials.values -}}
{{- fail "zookeeper.credentials: set existingSecret or values, not both" -}}
{{- end -}}
{{- if and .Values.zookeeper.ensembles .Values.zookeeper.authKey -}}
{{- fail "zookeeper.authKey is for the single ensemble: with zookeeper.ensembles, set authKey on each ensemble" -}}
{{- end -}}
{{- $keys := list -}}
{{- if .Values.zookeeper.ensembles -}}
{{- $names := dict -}}
{{- range .Values.zookeeper.ensembles -}}
{{- if hasKey $names .name -}}{{- fail (printf "zookeeper.ensembles: the name %q is used twice" .name) -}}{{- end -}}
{{- $_ := set $names .name true -}}
{{- if .authKey -}}{{- $keys = append $keys .authKey -}}{{- end -}}
{{- end -}}
{{- else if .Values.zookeeper.authKey -}}
{{- $keys = append $keys .Values.zookeeper.authKey -}}
{{- end -}}
{{- range $keys -}}
{{- if not $secret -}}
{{- fail (printf "zookeeper authKey %q needs zookeeper.credentials.existingSecret or zookeeper.credentials.values" .) -}}
{{- end -}}
{{- if and (not $.Values.zookeeper.credentials.existingSecret) (not (hasKey $.Values.zookeeper.credentials.values .)) -}}
{{- fail (printf "zookeeper authKey %q is not a key of zookeeper.credentials.values" .) -}}
{{- end -}}
{{- end -}}
{{- $tls := .Values.xds.tls -}}
{{- if and $tls.existingSecret $tls.certManager.issuerRef.name -}}
{{- fail "xds.tls: set existingSecret or certManager.issuerRef.name, not both" -}}
{{- end -}}
{{- if and $tls.clientCa.fromCertificateSecret $tls.clientCa.secretName -}}
{{- fail "xds.tls.clientCa: set fromCertificateSecret or secretName, not both" -}}
{{- end -}}
{{- if and (include "zk-xds.xdsMutualTls" .) (not (include "zk-xds.xdsTlsSecret" .)) -}}
{{- fail "xds.tls.clientCa needs a server certificate: xds.tls.existingSecret or xds.tls.certManager.issuerRef.name" -}}
{{- end -}}
{{- if and $tls.identities (not (include "zk-xds.xdsMutualTls" .)) -}}
{{- fail "xds.tls.identities needs mutual TLS: xds.tls.clientCa" -}}
{{- end -}}
{{- if and .Values.istio.serviceEntryWriter.enabled (not .Values.istio.enabled) -}}
{{- fail "istio.serviceEntryWriter.enabled needs istio.enabled" -}}
{{- end -}}
{{- end -}}

{{/* The sources file (ZKXDS_SOURCES_FILE) built from zookeeper.ensembles. */}}
{{- define "zk-xds.sourcesFile" -}}
ensembles:
{{- range .Values.zookeeper.ensembles }}
  - name: {{ .name | quote }}
    connect: {{ .connect | quote }}
    {{- if .chroot }}
    chroot: {{ .chroot | quote }}
    {{- end }}
    {{- if .sessionTimeoutMs }}
    sessionTimeoutMs: {{ .sessionTimeoutMs }}
    {{- end }}
    {{- if .authKey }}
    auth: { file: {{ printf "%s/%s" (include "zk-xds.authDir" $) .authKey | quote }} }
    {{- end }}
    roots:
    {{- range (default (list (dict "path" "/services" "layout" "auto")) .roots) }}
      - path: {{ .path | quote }}
        layout: {{ default "auto" .layout | quote }}
    {{- end }}
{{- end }}
{{- end -}}

{{/*
True when a ServiceMonitor is both asked for and possible: the cluster (or `helm template
--api-versions`) serves the Prometheus Operator's monitoring.coreos.com/v1. Without the CRD the
object would make the whole install fail.
*/}}
{{- define "zk-xds.serviceMonitorAvailable" -}}
{{- if or (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1") (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor") -}}
true
{{- end -}}
{{- end -}}
