{{- define "cosi-seaweedfs.name" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cosi-seaweedfs.labels" -}}
app.kubernetes.io/name: cosi-seaweedfs
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: container-object-storage-interface
{{- end -}}

{{- define "cosi-seaweedfs.selector" -}}
app.kubernetes.io/name: cosi-seaweedfs
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
