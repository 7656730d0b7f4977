{{/* The platform's declaration, as `market platform` prints it (committed beside Chart.yaml). */}}
{{- define "market.platform" -}}
{{- .Files.Get "platform.json" | fromJson | toJson -}}
{{- end -}}

{{/* Names: "market-order" for a release named market, "<release>-market-order" otherwise. */}}
{{- define "market.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "market.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Pods of one component (a service, the gateway); call with (list $ "order"). */}}
{{- define "market.selector" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ $root.Chart.Name }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "market.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "market.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "market.fullname" .)) -}}
{{- end -}}

{{/* A service's scaling: platform.json's, overridden by services.<name>.autoscaling; (list $ svc). */}}
{{- define "market.scaling" -}}
{{- $root := index . 0 -}}{{- $svc := index . 1 -}}
{{- $own := (get $root.Values.services $svc.name | default dict).autoscaling | default dict -}}
minReplicas: {{ $own.minReplicas | default $svc.scaling.min_replicas | int }}
maxReplicas: {{ $own.maxReplicas | default $svc.scaling.max_replicas | int }}
cpuPercent: {{ $own.cpuPercent | default $svc.scaling.cpu_percent | int }}
{{- end -}}

{{/* What every container of the chart runs with: no root, no privilege, nothing written outside /tmp. */}}
{{- define "market.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{- define "market.podSecurity" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}
