declare module "parse-prometheus-text-format" {
  /** Parses Prometheus text exposition into metric families; throws on malformed input. */
  export default function parsePrometheusTextFormat(text: string): unknown[];
}
