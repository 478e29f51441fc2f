{{/* Chart name, overridable. */}}
{{- define "llmops.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: <release>-<chart>, or <release> when it already contains the chart name. */}}
{{- define "llmops.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "llmops.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels selecting the operator pod; never changed across upgrades (Deployment selectors are immutable). */}}
{{- define "llmops.selectorLabels" -}}
app.kubernetes.io/name: {{ include "llmops.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/* Labels of every object, without a component. */}}
{{- define "llmops.baseLabels" -}}
helm.sh/chart: {{ include "llmops.chart" . }}
app.kubernetes.io/name: {{ include "llmops.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: llmops
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels of the operator's objects. */}}
{{- define "llmops.labels" -}}
{{ include "llmops.baseLabels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{/*
The metadata block of every object but the CRD. Arguments: root (the top context), name, namespace (omit for
cluster-scoped objects), labels and annotations (merged over commonLabels / commonAnnotations).
*/}}
{{- define "llmops.metadata" -}}
name: {{ .name }}
{{- with .namespace }}
namespace: {{ . }}
{{- end }}
labels:
  {{- include "llmops.labels" .root | nindent 2 }}
  {{- with .labels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with merge (dict) (.annotations | default dict) .root.Values.commonAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "llmops.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "llmops.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository:tag, or repository@digest when a digest is set. */}}
{{- define "llmops.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Rules on namespaced objects, the same for a ClusterRole (cluster-wide mode) and for each namespace's Role.
Derived from what the operator calls. tests/chart/test_chart_cluster.py runs the operator with this
ServiceAccount's token through a recording proxy: no request is denied, and every verb here is used (the
ServiceMonitor ones only where prometheus-operator is installed). A server-side apply is a PATCH, and also
needs `create` when it creates the object. Secrets are never read: Jobs get the Hugging Face token through
secretKeyRef.
*/}}
{{- define "llmops.namespacedRules" -}}
# The LLMDeployments: kopf watches them and patches its finalizer and progress annotations.
- apiGroups: ["llmops.dev"]
  resources: ["llmdeployments"]
  verbs: ["list", "watch", "patch"]
# The operator's only write to an LLMDeployment: its status.
- apiGroups: ["llmops.dev"]
  resources: ["llmdeployments/status"]
  verbs: ["patch"]
# Events on transitions.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
# Conversion Jobs: created once under a deterministic name, never rewritten; watched to wake the waiters.
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "create"]
# Job pods: read for their termination messages when a conversion fails.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list"]
# Serving Deployments: server-side applied, watched for rollout progress.
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "patch"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "create", "patch"]
# The HPA exists only while autoscaling is on, so it is deleted when it is turned off.
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["get", "create", "patch", "delete"]
# Artifact records (the conversion cache) and the shared model volume claim: create-if-absent.
- apiGroups: [""]
  resources: ["configmaps", "persistentvolumeclaims"]
  verbs: ["get", "create"]
# Only used when the prometheus-operator CRDs are installed.
- apiGroups: ["monitoring.coreos.com"]
  resources: ["servicemonitors"]
  verbs: ["get", "create", "patch", "delete"]
{{- end }}

{{/* Cluster-scoped reads, needed in both modes. */}}
{{- define "llmops.clusterRules" -}}
# Node pools (GPU product labels, capacity) for planning.
- apiGroups: [""]
  resources: ["nodes"]
  verbs: ["list", "watch"]
# kopf notices CRDs installed or upgraded after it started.
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["list", "watch"]
{{- end }}

{{/* The images configuration ConfigMap: its name, its one key, and where the operator reads it. */}}
{{- define "llmops.imagesConfigMap" -}}
{{- printf "%s-images" (include "llmops.fullname" . | trunc 56 | trimSuffix "-") }}
{{- end }}

{{- define "llmops.imagesFile" -}}
images.yaml
{{- end }}

{{- define "llmops.imagesDir" -}}
/etc/llmops
{{- end }}

{{/* The non-empty values of images.* as YAML ({} when none is set: every default). */}}
{{- define "llmops.imagesConfig" -}}
{{- $images := dict }}
{{- range $key, $value := .Values.images }}
{{- if $value }}
{{- $_ := set $images $key $value }}
{{- end }}
{{- end }}
{{- toYaml $images }}
{{- end }}

{{/* The conversion configuration ConfigMap, its one key (read from llmops.imagesDir too), and its content. */}}
{{- define "llmops.conversionConfigMap" -}}
{{- printf "%s-conversion" (include "llmops.fullname" . | trunc 52 | trimSuffix "-") }}
{{- end }}

{{- define "llmops.conversionFile" -}}
conversion.yaml
{{- end }}

{{- define "llmops.conversionConfig" -}}
{{- $conversion := dict }}
{{- range $key, $value := .Values.conversion }}
{{- if $value }}
{{- $_ := set $conversion $key $value }}
{{- end }}
{{- end }}
{{- toYaml $conversion }}
{{- end }}
