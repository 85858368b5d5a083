"""protoc + grpc_cpp_plugin from Debian, run in a genrule (no rules_proto download)."""

load("//bazel:berth.bzl", "BERTH_COPTS")

def berth_proto_library(name, src, deps = [], grpc = True, visibility = None):
    """Generates C++ (and gRPC stubs when grpc=True) for one .proto file.

    The generated library does not link libprotobuf itself: binaries pick the
    full runtime (//third_party:grpc) or the lite one (the shim), so the same
    generated code serves both without linking two protobuf runtimes."""
    base = src[:-len(".proto")]
    pkg = native.package_name()
    outs = [base + ".pb.h", base + ".pb.cc"]
    if grpc:
        outs += [base + ".grpc.pb.h", base + ".grpc.pb.cc"]
    dep_srcs = [d + "_srcs" for d in deps]
    cmd = "protoc --proto_path=. --cpp_out=$(GENDIR)"
    if grpc:
        cmd += " --grpc_out=$(GENDIR) --plugin=protoc-gen-grpc=$$(command -v grpc_cpp_plugin)"
    cmd += " " + pkg + "/" + src
    native.filegroup(name = name + "_srcs", srcs = [src] + dep_srcs, visibility = ["//visibility:public"])
    native.genrule(
        name = name + "_gen",
        srcs = [src] + dep_srcs,
        outs = outs,
        cmd = cmd,
    )
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        copts = ["-std=c++17", "-w"],
        deps = deps + (["//third_party:grpc_headers"] if grpc else ["//third_party:protobuf_headers"]),
        visibility = visibility or ["//visibility:public"],
    )
