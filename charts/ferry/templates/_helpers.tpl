{{/* Labels every object of the chart carries; uninstall checks use part-of. */}}
{{- define "ferry.labels" -}}
app.kubernetes.io/part-of: ferry
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{/* The NATS URL the gateway and the queue worker use. */}}
{{- define "ferry.natsURL" -}}
{{- if .Values.nats.enabled -}}
nats://nats.{{ .Values.namespace }}.svc:4222
{{- else -}}
{{- required "nats.external.url is required when nats.enabled is false" .Values.nats.external.url -}}
{{- end -}}
{{- end -}}

{{/* "true" when any event trigger is enabled (a template returns text). */}}
{{- define "ferry.triggersOn" -}}
{{- $t := .Values.triggers -}}
{{- if or $t.kafka.enabled $t.cron.enabled $t.nats.enabled }}true{{ end -}}
{{- end -}}

{{/* The Secret holding the admin password. */}}
{{- define "ferry.authSecret" -}}
{{- default "ferry-admin" .Values.basicAuth.existingSecret -}}
{{- end -}}

{{/* The pod and container security settings every platform pod shares:
non-root, read-only root filesystem, no capabilities. */}}
{{- define "ferry.podSecurity" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 65534
  runAsGroup: 65534
  fsGroup: 65534
  seccompProfile: {type: RuntimeDefault}
{{- end -}}
{{- define "ferry.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities: {drop: [ALL]}
{{- end -}}
