"""Project macros: every C++ target goes through these so flags live in one place."""

BERTH_COPTS = [
    "-std=c++17",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
    "-Wno-missing-field-initializers",
    "-D_GNU_SOURCE",
]

def berth_cc_library(name, copts = [], **kwargs):
    native.cc_library(name = name, copts = BERTH_COPTS + copts, **kwargs)

def berth_cc_binary(name, copts = [], linkopts = [], **kwargs):
    native.cc_binary(name = name, copts = BERTH_COPTS + copts, linkopts = linkopts, **kwargs)

def berth_cc_test(name, copts = [], deps = [], tags = [], **kwargs):
    """A Catch2 unit test. Tests that need root, mounts or namespaces are tagged
    'local' so that they run outside Bazel's sandbox."""
    native.cc_test(
        name = name,
        copts = BERTH_COPTS + copts,
        deps = deps + ["//third_party:catch2_main"],
        tags = tags,
        **kwargs
    )
