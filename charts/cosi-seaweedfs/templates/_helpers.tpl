{{/* The chart name, for the app.kubernetes.io/name label. */}}
{{- define "cosi-seaweedfs.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The name of every object: fullnameOverride, else the release name when it
already contains the chart name, else <release>-<name>.
*/}}
{{- define "cosi-seaweedfs.fullname" -}}
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

{{- define "cosi-seaweedfs.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cosi-seaweedfs.selector" -}}
app.kubernetes.io/name: {{ include "cosi-seaweedfs.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "cosi-seaweedfs.labels" -}}
helm.sh/chart: {{ include "cosi-seaweedfs.chart" . }}
{{ include "cosi-seaweedfs.selector" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: container-object-storage-interface
{{- end -}}

{{/* The admin Secret the driver mounts: created by the chart or existing. */}}
{{- define "cosi-seaweedfs.adminSecretName" -}}
{{- if .Values.seaweedfs.adminSecret.create -}}
{{- printf "%s-admin" (include "cosi-seaweedfs.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- required "seaweedfs.adminSecret.existingSecret: name the Secret that holds the SeaweedFS admin identity, or set seaweedfs.adminSecret.create" .Values.seaweedfs.adminSecret.existingSecret -}}
{{- end -}}
{{- end -}}

{{/*
The sidecar's leader Lease: "<driver name>/cosi" with every character other
than letters, digits and '-' replaced by '-', lower-cased, and an 'X' added if
it ends with '-' (sanitize in the COSI sidecar's controller library).
*/}}
{{- define "cosi-seaweedfs.sidecarLease" -}}
{{- $n := regexReplaceAll "[^a-zA-Z0-9-]" (printf "%s/cosi" .Values.driverName) "-" | lower -}}
{{- if hasSuffix "-" $n -}}{{ $n }}X{{- else -}}{{ $n }}{{- end -}}
{{- end -}}

{{/* The driver's leader Lease: cosi-seaweedfs-<first 10 hex digits of sha256(driver name)>. */}}
{{- define "cosi-seaweedfs.driverLease" -}}
{{- printf "cosi-seaweedfs-%s" (sha256sum .Values.driverName | trunc 10) -}}
{{- end -}}

{{/* Cluster-scoped names carry the namespace: one release per namespace. */}}
{{- define "cosi-seaweedfs.clusterName" -}}
{{- printf "%s-%s-%s" (include "cosi-seaweedfs.fullname" .root) .component .root.Release.Namespace | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Refuses a sidecar image whose tag names another release line than the rules
the chart grants (sidecar.rbac): the sidecar would fail on missing rights, or
hold rights it never uses. Tags that are not vX.Y.Z (digests, custom builds)
are not checked.
*/}}
{{- define "cosi-seaweedfs.checkSidecar" -}}
{{- $tag := toString .Values.sidecar.image.tag -}}
{{- if regexMatch "^v[0-9]+\\.[0-9]+\\.[0-9]+" $tag -}}
{{- $line := regexFind "^v[0-9]+\\.[0-9]+" $tag -}}
{{- if ne $line .Values.sidecar.rbac -}}
{{- fail (printf "sidecar.rbac is %q but sidecar.image.tag %q is of the %s line: set sidecar.rbac=%s" .Values.sidecar.rbac $tag $line $line) -}}
{{- end -}}
{{- end -}}
{{- end -}}
