// prom-client labels a metric by hashing the label object on every inc() and observe(). Under churn
// every stream records four or five labelled figures per response (thousands of responses a second),
// and that hashing showed in the churn profile; the child of each label value is looked up once.
// Safe because nothing resets these metrics (a reset would orphan the remembered children).

interface Labelled<Child> {
  labels(labels: Record<string, string>): Child;
}

const children = new WeakMap<object, Map<string, unknown>>();

/** `metric.labels({ [label]: value })`, remembered per metric and value. */
export function childOf<Child>(metric: Labelled<Child>, label: string, value: string): Child {
  let byValue = children.get(metric);
  if (!byValue) children.set(metric, (byValue = new Map()));
  let child = byValue.get(value) as Child | undefined;
  if (child === undefined) byValue.set(value, (child = metric.labels({ [label]: value })));
  return child;
}
