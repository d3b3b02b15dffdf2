module github.com/cosi-seaweedfs/cosi-seaweedfs/test/tools/protoc-gen-go

go 1.26

require google.golang.org/protobuf v1.36.12
