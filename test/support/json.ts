// Reading translated resources field by field in tests: proto-JSON as the translators build it.
export type Json = Readonly<Record<string, unknown>>;
