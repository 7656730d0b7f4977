{{/*
The non-secret MARKET_* settings of every process (settings.py, docs/configuration.md), as YAML:
the ConfigMap holds them, and the migration Job, which runs before the ConfigMap exists, sets them inline.
*/}}
{{- define "market.config" -}}
{{- $platform := include "market.platform" . | fromJson -}}
{{- $fullname := include "market.fullname" . -}}
{{- $c := .Values.config -}}
# Every process listens on the pod's address, not only on loopback.
MARKET_HOST: "0.0.0.0"
MARKET_LOG_LEVEL: {{ $c.logLevel | quote }}
MARKET_LOG_FORMAT: "json"
MARKET_MYSQL_HOST: {{ $c.mysql.host | quote }}
MARKET_MYSQL_PORT: {{ $c.mysql.port | toString | quote }}
MARKET_MYSQL_USER: {{ $c.mysql.user | quote }}
# TCP: MariaDB is not in the pod.
MARKET_MYSQL_SOCKET: ""
MARKET_KAFKA_BOOTSTRAP: {{ $c.kafkaBootstrap | quote }}
MARKET_KAFKA_SASL: {{ $c.kafkaSasl | toString | quote }}
MARKET_KAFKA_USERNAME: {{ $c.kafkaUsername | quote }}
MARKET_TRUSTED_PROXIES: {{ $c.trustedProxies | quote }}
{{- if .Values.grpcTls.secretName }}
MARKET_GRPC_TLS: "true"
MARKET_GRPC_CERTS_DIR: "/etc/market/grpc-certs"
{{- end }}
MARKET_REDIS_URL: {{ $c.redisUrl | quote }}
MARKET_ADMIN_EMAIL: {{ $c.adminEmail | quote }}
MARKET_DEMO_DATA: "false"
{{- if .Values.pgSandbox.enabled }}
MARKET_PG_BASE_URL: {{ printf "http://%s-pg-sandbox:%d" $fullname (.Values.pgSandbox.port | int) | quote }}
{{- else }}
MARKET_PG_BASE_URL: {{ $c.pgBaseUrl | quote }}
MARKET_BNPL_BASE_URL: {{ $c.bnplBaseUrl | quote }}
{{- end }}
# gRPC targets are headless Services: DNS answers with every ready replica, and the client balances over them.
{{- range $platform.services }}
{{- $env := .name | upper | replace "-" "_" }}
{{- if .grpc_port }}
MARKET_{{ $env }}_GRPC_TARGET: {{ printf "dns:///%s-%s-grpc:%d" $fullname .name (.grpc_port | int) | quote }}
{{- end }}
{{- end }}
{{- range $name, $value := $c.extra }}
{{ $name }}: {{ $value | toString | quote }}
{{- end }}
{{- end -}}
