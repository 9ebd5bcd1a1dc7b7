#!/usr/bin/env python3
"""Packaging checks for rtmem, one ctest test per command (tests/CMakeLists.txt).

Each command builds or reads rtmem the way one ecosystem does and fails
(exit 1, naming what is wrong) when that way is broken:

  every-source   compile every file under src/ with one port selected, link
                 and run a program; two ports are a compile error; a missing
                 port file is a link error naming rtm_port_* (every file with
                 no port defined: the arduino check)
  pkgconfig      install, move the tree, build with `pkg-config rtmem`, and
                 an ESP-IDF-style program with `pkg-config rtmem-esp-compat`
  find-package   install, move the tree, build a CMake project with
                 find_package(rtmem), and the ESP-IDF-style program with
                 rtmem::esp_compat
  installed-options  a build with an rtmem_config.h (RTMEM_CONFIG_DIR) and
                 RTMEM_EXTRA_DEFINES, installed: a program built through
                 `$(pkg-config ...)` in sh and one through find_package see
                 its options; a definition rtmem.pc cannot carry intact
                 stops the configure step
  subdir         add_subdirectory from a project with its own warnings;
                 installing it installs no rtmem file
  esp-idf        the ESP_PLATFORM branch under a stand-in for ESP-IDF, also
                 with a poisoning level in rtmem_config.h as well as in
                 menuconfig (-Werror: the same level is no redefinition)
  manifests      idf_component.yml, Kconfig, library.json and
                 library.properties parse and name files that exist
  platformio     the sources library.json's srcFilter keeps compile and link
  arduino        the Arduino bundle compiles the way the Arduino IDE builds it
  readme-sources the README's Makefile list is CMake's list
  preset-bss     what docs/targets.md says about presets in .bss
  freertos-makefile  docs/freertos.md's source list for the heap drop-in
                 leaves no rtm_* symbol undefined
  stacks-snippets  docs/stacks.md's two C examples compile, as one program
                 on the posix port, with strict warnings
  layers         docs/architecture.md's layers: no file under src/ includes
                 a header of a layer above its own, the core reaches no
                 system header but four, and a strategy calls neither the
                 port nor the output hook, and the front only to report a
                 refused free

Common options: --source (rtmem's root), --work (a scratch directory, emptied
first), --cc and --cflags (the compiler and the flags of the build under
test, e.g. -m32 or the sanitizers, used to compile and to link), --emulator
(what runs the build's programs, when the machine cannot: the -m32 build
under qemu-i386).
"""
import argparse
import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys


class CheckFailed(Exception):
    pass


def fail(message):
    raise CheckFailed(message)


def run(cmd, cwd=None, env=None, expect_ok=True):
    """Runs cmd; returns (returncode, combined output). Fails on an
    unexpected status."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if expect_ok and proc.returncode != 0:
        fail("command failed (%d): %s\n%s" % (proc.returncode, " ".join(cmd), proc.stdout))
    return proc.returncode, proc.stdout


def fresh_dir(path):
    if os.path.exists(path):
        shutil.rmtree(path)
    os.makedirs(path)
    return path


def c_sources(root, sub="src"):
    """Every .c file under root/sub, as paths relative to root, sorted."""
    found = []
    for dirpath, _dirs, files in os.walk(os.path.join(root, sub)):
        for name in files:
            if name.endswith(".c"):
                found.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(found)


def strict_flags(args):
    return ["-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror"] + shlex.split(args.cflags)


def build_program(args, sources, includes, defines, out, extra=(), expect_ok=True):
    """Compiles and links sources with the build's compiler and flags."""
    cmd = [args.cc] + strict_flags(args) + list(extra)
    cmd += ["-I" + d for d in includes] + ["-D" + d for d in defines]
    cmd += list(sources) + ["-o", out]
    if any(d == "RTM_PORT_POSIX" for d in defines):
        cmd.append("-pthread")
    return run(cmd, expect_ok=expect_ok)


EMULATOR = []  # --emulator: the command that runs this build's programs (qemu-i386)


def run_consumer(path):
    _rc, out = run(EMULATOR + [path])
    if "rtmem consumer ok" not in out:
        fail("%s did not report success:\n%s" % (path, out))


def consumer_c(args):
    return os.path.join(args.source, "tests", "packaging", "consumer.c")


def esp_consumer_c(args):
    return os.path.join(args.source, "tests", "packaging", "esp_consumer.c")


# --------------------------------------------------------------------------
def compile_objects(args, sources, includes, defines, out_dir):
    """Compiles each source to an object in out_dir; returns the objects."""
    os.makedirs(out_dir, exist_ok=True)
    objects = []
    for index, source in enumerate(sources):
        obj = os.path.join(out_dir, "%d_%s.o" % (index, os.path.basename(source)[:-2]))
        run([args.cc] + strict_flags(args) + ["-I" + d for d in includes] +
            ["-D" + d for d in defines] + ["-c", source, "-o", obj])
        objects.append(obj)
    return objects


def link(args, objects, out, expect_ok=True):
    return run([args.cc] + shlex.split(args.cflags) + list(objects) + ["-o", out, "-pthread"],
               expect_ok=expect_ok)


def check_every_source(args):
    src = args.source
    files = [os.path.join(src, f) for f in c_sources(src)] + [consumer_c(args)]
    # What Arduino and PlatformIO put on the include path: the public
    # headers and src/ (the library's private headers).
    include = [os.path.join(src, "include"), os.path.join(src, "src")]
    work = fresh_dir(args.work)
    prog = os.path.join(work, "consumer")
    # The posix port selected, every file compiled: the other ports are empty.
    posix = compile_objects(args, files, include, ["RTM_PORT_POSIX"], os.path.join(work, "posix"))
    link(args, posix, prog)
    run_consumer(prog)
    # No port defined (none is then the port): check_arduino builds that.
    # Two ports: a compile error that says so.
    rc, out = build_program(args, [os.path.join(src, "src", "heap.c")], include,
                            ["RTM_PORT_POSIX", "RTM_PORT_NONE"],
                            os.path.join(work, "two.o"), extra=["-c"], expect_ok=False)
    if rc == 0 or "more than one of RTM_PORT_NONE" not in out:
        fail("two ports selected did not stop the compile with port.h's message:\n" + out)
    # The selected port's file left out: a link error naming the port layer.
    without = [o for o in posix if not o.endswith("_posix.o")]
    if len(without) != len(posix) - 1:
        fail("cannot tell posix.c's object from the others")
    rc, out = link(args, without, prog, expect_ok=False)
    if rc == 0 or "rtm_port_lock_init" not in out:
        fail("leaving out the selected port's file did not fail the link on rtm_port_*:\n" + out)


# --------------------------------------------------------------------------
def install(args, prefix, build=None):
    run([args.cmake, "--install", build or args.build, "--prefix", prefix])


def pkg_config_env(prefix):
    """The environment in which pkg-config finds the one rtmem.pc installed
    under prefix, and no other."""
    pcs = [os.path.join(d, f) for d, _s, fs in os.walk(prefix) for f in fs if f == "rtmem.pc"]
    if len(pcs) != 1:
        fail("expected one rtmem.pc in the install, found %s" % pcs)
    env = dict(os.environ)
    env["PKG_CONFIG_PATH"] = os.path.dirname(pcs[0])
    env.pop("PKG_CONFIG_LIBDIR", None)
    env.pop("PKG_CONFIG_SYSROOT_DIR", None)
    return env


def check_pkgconfig(args):
    work = fresh_dir(args.work)
    first = os.path.join(work, "installed-here")
    moved = os.path.join(work, "moved", "elsewhere")
    install(args, first)
    os.makedirs(os.path.dirname(moved))
    shutil.move(first, moved)
    env = pkg_config_env(moved)
    real_moved = os.path.realpath(moved)
    # rtmem, and the ESP-IDF names (rtmem::esp_compat) over it.
    for package, source, name in (("rtmem", consumer_c(args), "consumer"),
                                  ("rtmem-esp-compat", esp_consumer_c(args), "esp_consumer")):
        _rc, flags = run([args.pkg_config, "--cflags", "--libs", package], env=env)
        if first in flags or "/usr/local" in flags:
            fail("pkg-config %s still points at the old place: %s" % (package, flags))
        for word in shlex.split(flags):
            if word.startswith(("-I", "-L")) and \
                    not os.path.realpath(word[2:]).startswith(real_moved):
                fail("pkg-config %s gives %s, outside the moved tree %s" % (package, word, moved))
        prog = os.path.join(work, name)
        run([args.cc] + shlex.split(args.cflags) + [source, "-o", prog] + shlex.split(flags))
        run_consumer(prog)


# --------------------------------------------------------------------------
def cmake_configure(args, source, binary, options):
    cmd = [args.cmake, "-S", source, "-B", binary, "-G", args.generator,
           "-DCMAKE_C_COMPILER=" + args.cc, "-DCMAKE_C_FLAGS=" + args.cflags]
    if args.make_program:
        cmd.append("-DCMAKE_MAKE_PROGRAM=" + args.make_program)
    run(cmd + options)


def check_find_package(args):
    work = fresh_dir(args.work)
    first = os.path.join(work, "prefix-a")
    moved = os.path.join(work, "prefix-b")
    install(args, first)
    shutil.move(first, moved)
    for name, options in (("consumer-build", []),
                          ("esp-consumer-build", ["-DCONSUMER_SOURCE=" + esp_consumer_c(args),
                                                  "-DCONSUMER_ESP_COMPAT=ON"])):
        binary = os.path.join(work, name)
        cmake_configure(args, os.path.join(args.source, "tests", "packaging", "find_consumer"),
                        binary, ["-DCMAKE_PREFIX_PATH=" + moved] + options)
        run([args.cmake, "--build", binary])
        run_consumer(os.path.join(binary, "consumer"))


# --------------------------------------------------------------------------
# What check_installed_options passes: a value with parentheses and a
# function-like macro survive pkg-config; the refused ones do not.
OPTION_DEFINES = "RTM_TASK_NAME_LEN=24;RTM_MONITOR_LARGE_BYTES=(1024u+2048u);RTM_ABORT()=__builtin_trap()"
REFUSED_DEFINES = ["RTM_PRESET_GENERIC_SIZE=(128u * 1024u)", "RTM_PRESET_GENERIC_SIZE=(128u*1024u)",
                   'RTM_CONFIG_FILE="board.h"']


def check_installed_options(args):
    work = fresh_dir(args.work)
    common = ["-DCMAKE_BUILD_TYPE=Release", "-DRTMEM_BUILD_TESTS=OFF", "-DRTMEM_BUILD_EXAMPLES=OFF",
              "-DRTMEM_BUILD_TOOLS=OFF", "-DRTMEM_INSTALL=ON"]
    # A definition that `$(pkg-config --cflags rtmem)` would hand over
    # changed is refused, naming the option, before anything is built.
    for index, define in enumerate(REFUSED_DEFINES):
        binary = os.path.join(work, "refused%d" % index)
        cmd = [args.cmake, "-S", args.source, "-B", binary, "-G", args.generator,
               "-DCMAKE_C_COMPILER=" + args.cc, "-DCMAKE_C_FLAGS=" + args.cflags,
               "-DRTMEM_EXTRA_DEFINES=" + define] + common
        rc, out = run(cmd, expect_ok=False)
        if rc == 0 or "RTMEM_EXTRA_DEFINES" not in out:
            fail("RTMEM_EXTRA_DEFINES=%s configured (rtmem.pc would hand it over changed), or "
                 "failed without naming the option:\n%s" % (define, out))
    binary = os.path.join(work, "build")
    config_dir = os.path.join(args.source, "tests", "packaging", "options_config")
    cmake_configure(args, args.source, binary, common + ["-DRTMEM_CONFIG_DIR=" + config_dir,
                                                          "-DRTMEM_EXTRA_DEFINES=" + OPTION_DEFINES])
    run([args.cmake, "--build", binary])
    first = os.path.join(work, "prefix-a")
    moved = os.path.join(work, "prefix-b")
    install(args, first, binary)
    shutil.move(first, moved)
    source = os.path.join(args.source, "tests", "packaging", "options_consumer.c")
    # pkg-config the way the README shows it: the shell splits the output.
    env = pkg_config_env(moved)
    env.update({"CC": args.cc, "CFLAGS": args.cflags, "PKG_CONFIG": args.pkg_config,
                "SRC": source, "OUT": os.path.join(work, "consumer-pc")})
    run(["sh", "-c", '$CC $CFLAGS "$SRC" -o "$OUT" $("$PKG_CONFIG" --cflags --libs rtmem)'],
        env=env)
    run_consumer(env["OUT"])
    consumer_build = os.path.join(work, "consumer-build")
    cmake_configure(args, os.path.join(args.source, "tests", "packaging", "find_consumer"),
                    consumer_build, ["-DCMAKE_PREFIX_PATH=" + moved, "-DCONSUMER_SOURCE=" + source])
    run([args.cmake, "--build", consumer_build])
    run_consumer(os.path.join(consumer_build, "consumer"))


# --------------------------------------------------------------------------
def cache_value(binary, name):
    with open(os.path.join(binary, "CMakeCache.txt"), encoding="utf-8") as cache:
        for line in cache:
            if line.startswith(name + ":"):
                return line.split("=", 1)[1].strip()
    return None


def installed_files(prefix):
    return sorted(os.path.relpath(os.path.join(d, f), prefix)
                  for d, _s, fs in os.walk(prefix) for f in fs)


def check_subdir(args):
    work = fresh_dir(args.work)
    binary = os.path.join(work, "build")
    project = os.path.join(args.source, "tests", "packaging", "subdir_consumer")
    # -Wpadded warns in rtmem's code: with rtmem's -Werror the build fails.
    saved = args.cflags
    args.cflags = (args.cflags + " -Wpadded").strip()
    cmake_configure(args, project, binary, ["-DRTMEM_SOURCE_DIR=" + args.source,
                                            "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON"])
    args.cflags = saved
    for name in ("RTMEM_WARNINGS_AS_ERRORS", "RTMEM_INSTALL", "RTMEM_BUILD_TESTS"):
        if cache_value(binary, name) != "OFF":
            fail("%s is %s under add_subdirectory, expected OFF" % (name, cache_value(binary, name)))
    run([args.cmake, "--build", binary])
    run_consumer(os.path.join(binary, "consumer"))

    with open(os.path.join(binary, "compile_commands.json"), encoding="utf-8") as f:
        commands = json.load(f)
    saw_rtmem = saw_own = False
    for entry in commands:
        words = shlex.split(entry["command"])
        path = os.path.relpath(os.path.realpath(entry["file"]), os.path.realpath(args.source))
        if path.startswith(os.path.join("tests", "packaging")):
            saw_own = True
            leaked = [w for w in words if w in ("-Werror", "-Wconversion", "-Wsign-conversion",
                                                "-Wmissing-prototypes", "-Wpedantic")]
            if leaked:
                fail("rtmem's flags %s reach the consumer's own %s" % (leaked, path))
        elif path.startswith("src" + os.sep) or path.startswith("compat" + os.sep):
            saw_rtmem = True
            if "-Werror" in words:
                fail("-Werror is on for rtmem's %s under add_subdirectory" % path)
            if "-Wpadded" not in words:
                fail("the consumer's own flags do not reach rtmem's %s" % path)
    if not (saw_rtmem and saw_own):
        fail("compile_commands.json lacks rtmem's or the consumer's files")

    prefix = os.path.join(work, "prefix")
    run([args.cmake, "--install", binary, "--prefix", prefix])
    files = installed_files(prefix)
    if files != [os.path.join("bin", "consumer")]:
        fail("installing the consumer installed more than its program: %s" % files)
    # And rtmem's files when the consumer asks for them.
    run([args.cmake, "-DRTMEM_INSTALL=ON", binary])
    prefix_on = os.path.join(work, "prefix-on")
    run([args.cmake, "--install", binary, "--prefix", prefix_on])
    files = installed_files(prefix_on)
    if not any(f.endswith(os.path.join("rtmem", "heap.h")) for f in files) or \
            not any(f.endswith("rtmem.pc") for f in files):
        fail("RTMEM_INSTALL=ON installed no rtmem headers or rtmem.pc: %s" % files)


# --------------------------------------------------------------------------
IDF_CASES = [
    # (CONFIG_* options, expected poison level, the level menuconfig passes
    # ("" for none: the defaults leave it to rtmem_config.h), strategy,
    # with system)
    ([], 0, "", "rtm_strategy_tlsf", 0),
    (["-DCONFIG_RTMEM_POISONING_LIGHT=y", "-DCONFIG_RTMEM_STRATEGY_FIRST_FIT=y",
      "-DCONFIG_RTMEM_WITH_SYSTEM=y"], 1, "1", "rtm_strategy_first_fit", 1),
    (["-DCONFIG_RTMEM_POISONING_COMPREHENSIVE=y", "-DCONFIG_RTMEM_STRATEGY_BEST_FIT=y"], 2, "2",
     "rtm_strategy_best_fit", 0),
    (["-DCONFIG_RTMEM_POISONING_NONE=y", "-DCONFIG_RTMEM_STRATEGY_BUMP=y"], 0, "0",
     "rtm_strategy_bump", 0),
]


# A poisoning level in the application's rtmem_config.h as well as in
# menuconfig: (the header's line, CONFIG_* options, the level the library
# and the application must get, or None when the build must stop with the
# given message). Built with -Werror: the same level twice, however it is
# spelled, must not be a macro redefinition.
# (Two cases: each builds the whole component; config_idf_poison_level*
# check more spellings and values in config.h alone.)
IDF_HEADER_CASES = [
    ("#define RTM_POISON_LEVEL 1u", ["-DCONFIG_RTMEM_POISONING_LIGHT=y"], 1, None),
    ("#define RTM_POISON_LEVEL 2", ["-DCONFIG_RTMEM_POISONING_NONE=y"], None,
     "differs from menuconfig"),
]


def check_esp_idf(args):
    work = fresh_dir(args.work)
    project = os.path.join(args.source, "tests", "packaging", "esp_idf")
    for index, (line, config, poison, message) in enumerate(IDF_HEADER_CASES):
        config_dir = os.path.join(work, "header%d-config" % index)
        os.makedirs(config_dir)
        with open(os.path.join(config_dir, "rtmem_config.h"), "w", encoding="utf-8") as f:
            f.write("/* the application's options */\n%s\n" % line)
        binary = os.path.join(work, "header%d" % index)
        run([args.cmake, "-S", project, "-B", binary, "-G", args.generator,
             "-DCMAKE_C_COMPILER=" + args.cc, "-DCMAKE_C_FLAGS=" + args.cflags + " -Werror",
             "-DRTMEM_SOURCE_DIR=" + args.source, "-DUSER_CONFIG_DIR=" + config_dir,
             "-DEXPECT_POISON=%d" % (poison if poison is not None else 0),
             "-DEXPECT_IDF_POISON=%d" % (poison if poison is not None else 0),
             "-DEXPECT_STRATEGY=rtm_strategy_tlsf", "-DEXPECT_SYSTEM=0"] +
            (["-DCMAKE_MAKE_PROGRAM=" + args.make_program] if args.make_program else []) + config)
        rc, out = run([args.cmake, "--build", binary, "-j", "2"], expect_ok=False)
        if poison is not None and rc != 0:
            fail("menuconfig %s with '%s' in rtmem_config.h does not build warning-free:\n%s"
                 % (config or "(defaults)", line, out))
        if poison is None and (rc == 0 or message not in out):
            fail("menuconfig %s with '%s' in rtmem_config.h built, or failed without '%s':\n%s"
                 % (config or "(defaults)", line, message, out))
    for index, (config, poison, idf_poison, strategy, system) in enumerate(IDF_CASES):
        binary = os.path.join(work, "case%d" % index)
        cmake_configure(args, project, binary,
                        ["-DRTMEM_SOURCE_DIR=" + args.source, "-DEXPECT_POISON=%d" % poison,
                         "-DEXPECT_IDF_POISON=" + idf_poison,
                         "-DEXPECT_STRATEGY=" + strategy, "-DEXPECT_SYSTEM=%d" % system] + config)
        # Building one case compiles every registered source against the
        # ESP-IDF header layout; the others differ only in definitions.
        if index == 1:
            run([args.cmake, "--build", binary])
            with open(os.path.join(binary, "registered_sources.txt"), encoding="utf-8") as f:
                registered = sorted(os.path.relpath(p, args.source) for p in f.read().split(";"))
            expected = [p for p in cmake_sources(args) if not p.startswith("src/port/")]
            expected = sorted(expected + ["src/port/freertos.c"])
            if registered != expected:
                fail("ESP-IDF registers %s, CMake's list is %s" % (registered, expected))


# --------------------------------------------------------------------------
def project_version(source):
    with open(os.path.join(source, "CMakeLists.txt"), encoding="utf-8") as f:
        match = re.search(r"project\(rtmem VERSION ([0-9.]+)", f.read())
    if not match:
        fail("no project(rtmem VERSION ...) in CMakeLists.txt")
    return match.group(1)


def check_idf_manifest(source, version):
    import yaml  # python3-yaml (scripts/test.sh installs it)
    path = os.path.join(source, "idf_component.yml")
    with open(path, encoding="utf-8") as f:
        try:
            data = yaml.safe_load(f)
        except yaml.YAMLError as err:
            fail("idf_component.yml does not parse: %s" % err)
    if not isinstance(data, dict):
        fail("idf_component.yml is not a mapping")
    known = {"version", "description", "url", "repository", "documentation", "issues",
             "license", "maintainers", "tags", "targets", "dependencies", "files", "examples"}
    unknown = set(data) - known
    if unknown:
        fail("idf_component.yml has keys the component manager does not know: %s" % unknown)
    if str(data.get("version")) != version:
        fail("idf_component.yml version %s, CMake's is %s" % (data.get("version"), version))
    if "idf" not in (data.get("dependencies") or {}):
        fail("idf_component.yml does not say which ESP-IDF it needs")
    for pattern in (data.get("files") or {}).get("exclude", []) + \
            (data.get("files") or {}).get("include", []):
        base = pattern.split("/")[0]
        if not any(ch in base for ch in "*?[") and base != "build" and \
                not os.path.exists(os.path.join(source, base)):
            fail("idf_component.yml names %s, which does not exist" % pattern)
    for example in data.get("examples", []) or []:
        if not os.path.isdir(os.path.join(source, example.get("path", ""))):
            fail("idf_component.yml names example %s, which does not exist" % example)
    for needed in ("CMakeLists.txt", "Kconfig", "include/rtmem/rtmem.h"):
        if not os.path.exists(os.path.join(source, needed)):
            fail("the ESP-IDF component needs %s" % needed)


KCONFIG_TYPES = {"bool", "tristate", "int", "hex", "string"}


def parse_kconfig(path):
    """A structural parse of the Kconfig subset ESP-IDF components use:
    menu/endmenu, choice/endchoice, if/endif, config/menuconfig entries with
    one type, prompt, default, depends on, select, range and help. Returns
    {symbol: {"type", "choice", "defaults"}} and the choices' defaults; fails
    with FILE:LINE on anything else."""
    symbols = {}
    choices = []
    stack = []
    current = None
    in_help = None
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for number, raw in enumerate(lines, 1):
        where = "%s:%d" % (path, number)
        if in_help is not None:
            indent = len(raw) - len(raw.lstrip())
            if not raw.strip() or indent > in_help:
                continue
            in_help = None
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "\t" in raw[:len(raw) - len(raw.lstrip())] and " " in raw[:len(raw) - len(raw.lstrip())]:
            fail(where + ": tabs and spaces mixed in the indentation")
        words = line.split(None, 1)
        keyword, rest = words[0], (words[1] if len(words) > 1 else "")
        if keyword == "menu":
            if not re.fullmatch(r'"[^"]+"', rest):
                fail(where + ": menu needs a quoted title")
            stack.append(("menu", where))
            current = None
        elif keyword == "endmenu":
            if not stack or stack[-1][0] != "menu":
                fail(where + ": endmenu without menu")
            stack.pop()
            current = None
        elif keyword == "choice":
            if not re.fullmatch(r"[A-Z0-9_]+", rest):
                fail(where + ": choice needs a symbol name")
            current = {"name": rest, "members": [], "defaults": [], "where": where, "kind": "choice"}
            choices.append(current)
            stack.append(("choice", current))
        elif keyword == "endchoice":
            if not stack or stack[-1][0] != "choice":
                fail(where + ": endchoice without choice")
            stack.pop()
            current = None
        elif keyword == "if":
            stack.append(("if", where))
            current = None
        elif keyword == "endif":
            if not stack or stack[-1][0] != "if":
                fail(where + ": endif without if")
            stack.pop()
            current = None
        elif keyword in ("config", "menuconfig"):
            if not re.fullmatch(r"[A-Z0-9_]+", rest):
                fail(where + ": config needs an upper-case symbol name")
            if rest in symbols:
                fail(where + ": %s defined twice" % rest)
            choice = next((s[1] for s in reversed(stack) if s[0] == "choice"), None)
            current = {"name": rest, "type": None, "choice": choice, "defaults": [],
                       "where": where, "kind": "config", "prompt": None}
            symbols[rest] = current
            if choice is not None:
                choice["members"].append(rest)
        elif keyword in KCONFIG_TYPES:
            if current is None or current["kind"] != "config" or current["type"]:
                fail(where + ": a type outside a config entry, or a second type")
            current["type"] = keyword
            current["prompt"] = rest or None
        elif keyword == "prompt":
            if current is None:
                fail(where + ": prompt outside an entry")
            if not re.fullmatch(r'"[^"]+"', rest):
                fail(where + ": prompt needs a quoted text")
        elif keyword == "default":
            if current is None or not rest:
                fail(where + ": default outside an entry, or without a value")
            current["defaults"].append((rest.split(" if ")[0].strip(), where))
        elif keyword in ("depends", "select", "imply", "range", "visible", "option"):
            if current is None:
                fail(where + ": %s outside an entry" % keyword)
        elif keyword in ("help", "---help---"):
            if current is None:
                fail(where + ": help outside an entry")
            in_help = len(raw) - len(raw.lstrip())
        elif keyword in ("source", "rsource", "osource", "orsource", "comment", "mainmenu"):
            if not re.fullmatch(r'"[^"]+"', rest):
                fail(where + ": %s needs a quoted argument" % keyword)
        else:
            fail(where + ": unknown Kconfig keyword '%s'" % keyword)
    if stack:
        fail("%s: %s opened at %s is never closed" % (path, stack[-1][0],
             stack[-1][1] if isinstance(stack[-1][1], str) else stack[-1][1]["where"]))
    for sym in symbols.values():
        if not sym["type"]:
            fail("%s: %s has no type" % (sym["where"], sym["name"]))
        if sym["choice"] is not None and sym["type"] != "bool":
            fail("%s: %s is in a choice but not bool" % (sym["where"], sym["name"]))
        for value, where in sym["defaults"]:
            if sym["type"] == "bool" and value not in ("y", "n") and value not in symbols:
                fail("%s: bool default %s is neither y, n nor a symbol" % (where, value))
            if sym["type"] == "int" and not re.fullmatch(r"-?[0-9]+", value) and value not in symbols:
                fail("%s: int default %s is not a number" % (where, value))
    for choice in choices:
        if len(choice["members"]) < 2:
            fail("%s: choice %s has fewer than two options" % (choice["where"], choice["name"]))
        for value, where in choice["defaults"]:
            if value not in choice["members"]:
                fail("%s: choice default %s is not one of its options" % (where, value))
    return symbols, choices


def check_kconfig(source):
    path = os.path.join(source, "Kconfig")
    symbols, choices = parse_kconfig(path)
    # Every CONFIG_ the ESP-IDF branch reads is a Kconfig symbol, and every
    # Kconfig symbol is read there (a menu entry that changes nothing lies).
    with open(os.path.join(source, "CMakeLists.txt"), encoding="utf-8") as f:
        text = f.read()
    used = set(re.findall(r"CONFIG_(RTMEM_[A-Z0-9_]+)", text))
    for name in used - set(symbols):
        fail("CMakeLists.txt reads CONFIG_%s, which Kconfig does not define" % name)
    # A choice's default option may go unread: it is the branch's else.
    choice_defaults = {v for c in choices for v, _w in c["defaults"]}
    for name in set(symbols) - used - choice_defaults:
        fail("Kconfig defines %s, which CMakeLists.txt never reads" % name)
    wanted = {"RTMEM_STRATEGY", "RTMEM_POISONING"}
    if not wanted <= {c["name"] for c in choices}:
        fail("Kconfig lacks the strategy or the poisoning choice")
    poison = next(c for c in choices if c["name"] == "RTMEM_POISONING")
    if len(poison["members"]) != 4:
        fail("the poisoning choice should offer the header's level and RTM_POISON_LEVEL 0, 1 and 2")


def check_library_json(source, version):
    path = os.path.join(source, "library.json")
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as err:
            fail("library.json does not parse: %s" % err)
    for key in ("name", "version", "description", "build"):
        if key not in data:
            fail("library.json lacks %s" % key)
    if data["version"] != version:
        fail("library.json version %s, CMake's is %s" % (data["version"], version))
    build = data["build"]
    for key in ("srcDir", "includeDir"):
        if not os.path.isdir(os.path.join(source, build.get(key, ""))):
            fail("library.json build.%s names no directory" % key)
    for header in data.get("headers", []):
        if not os.path.isfile(os.path.join(source, build["includeDir"], header)):
            fail("library.json names header %s, which does not exist" % header)
    for entry in build.get("srcFilter", []):
        match = re.fullmatch(r"[+-]<([^>]*)>", entry)
        if not match:
            fail("library.json srcFilter entry %r is not +<path> or -<path>" % entry)
        target = match.group(1)
        if any(ch in target for ch in "*?["):
            continue
        if not os.path.exists(os.path.join(source, build["srcDir"], target)):
            fail("library.json srcFilter names %s, which does not exist" % target)
    for name in data.get("export", {}).get("exclude", []):
        if name != "build" and not os.path.exists(os.path.join(source, name)):
            fail("library.json export.exclude names %s, which does not exist" % name)
    return data


ARDUINO_REQUIRED = ("name", "version", "author", "maintainer", "sentence", "paragraph",
                    "category", "url", "architectures")
ARDUINO_CATEGORIES = {"Display", "Communication", "Signal Input/Output", "Sensors",
                      "Device Control", "Timing", "Data Storage", "Data Processing", "Other"}


def parse_properties(path):
    props = {}
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if "=" not in line:
                fail("%s:%d: not key=value" % (path, number))
            key, value = line.split("=", 1)
            if key in props:
                fail("%s:%d: %s given twice" % (path, number, key))
            props[key.strip()] = value.strip()
    return props


def check_library_properties(source, version):
    path = os.path.join(source, "packaging", "arduino", "library.properties")
    props = parse_properties(path)
    for key in ARDUINO_REQUIRED:
        if not props.get(key):
            fail("library.properties lacks %s" % key)
    if props["version"] != version:
        fail("library.properties version %s, CMake's is %s" % (props["version"], version))
    if props["category"] not in ARDUINO_CATEGORIES:
        fail("library.properties category %s is not one Arduino knows" % props["category"])
    # Archived, so that only the presets a sketch calls are linked
    # (docs/targets.md: each preset reserves its chip's memory in .bss).
    if props.get("dot_a_linkage") != "true":
        fail("library.properties must set dot_a_linkage=true (docs/targets.md)")
    for header in props.get("includes", "").split(","):
        header = header.strip()
        if header and not os.path.isfile(os.path.join(source, "packaging", "arduino", header)):
            fail("library.properties includes %s, which the bundle does not have" % header)


def check_manifests(args):
    version = project_version(args.source)
    check_idf_manifest(args.source, version)
    check_kconfig(args.source)
    check_library_json(args.source, version)
    check_library_properties(args.source, version)
    with open(os.path.join(args.source, "include", "rtmem", "rtmem.h"), encoding="utf-8") as f:
        text = f.read()
    parts = [re.search(r"#define RTM_VERSION_%s ([0-9]+)" % p, text) for p in
             ("MAJOR", "MINOR", "PATCH")]
    if None in parts or ".".join(m.group(1) for m in parts) != version:
        fail("rtmem.h's RTM_VERSION_* is not CMake's version %s" % version)


# --------------------------------------------------------------------------
def platformio_filter(source, src_dir, filters):
    """The files PlatformIO keeps: it walks srcDir and applies each
    +<pattern>/-<pattern> in order, a directory pattern standing for
    everything under it (PlatformIO's documented semantics)."""
    root = os.path.join(source, src_dir)
    files = []
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            files.append(os.path.relpath(os.path.join(dirpath, name), root))
    kept = set()
    for entry in filters:
        sign, pattern = entry[0], entry[2:-1]
        if pattern.endswith("/"):
            pattern = pattern + "*"
        matched = {f for f in files if fnmatch.fnmatchcase(f, pattern)}
        if sign == "+":
            kept |= matched
        else:
            kept -= matched
    return sorted(os.path.normpath(os.path.join(src_dir, f)) for f in kept)


def check_platformio(args):
    version = project_version(args.source)
    data = check_library_json(args.source, version)
    build = data["build"]
    kept = platformio_filter(args.source, build["srcDir"], build["srcFilter"])
    sources = [f for f in kept if f.endswith(".c")]
    for f in kept:
        if f.split(os.sep)[0] in ("tests", "tools", "bench", "fuzz", "examples", "compat"):
            fail("library.json's srcFilter keeps %s" % f)
    ports = [f for f in sources if f.startswith(os.path.join("src", "port"))]
    if len(ports) != 1:
        fail("library.json's srcFilter keeps %d ports: %s" % (len(ports), ports))
    expected = [p for p in cmake_sources(args) if not p.startswith("src/port/")] + ports
    if sorted(sources) != sorted(expected):
        fail("srcFilter keeps %s; CMake's library is %s" % (sources, sorted(expected)))
    flags = build.get("flags", [])
    defines = [f[2:] for f in flags if f.startswith("-D")]
    others = [f for f in flags if not f.startswith("-D")]
    # PlatformIO puts includeDir and srcDir on the library's include path.
    includes = [os.path.join(args.source, build["includeDir"]), os.path.join(args.source,
                                                                             build["srcDir"])]
    work = fresh_dir(args.work)
    lib_cmd = [args.cc] + shlex.split(args.cflags) + ["-Wall", "-Wextra", "-Werror"] + others
    lib_cmd += ["-I" + d for d in includes] + ["-D" + d for d in defines]
    objs = []
    for index, source in enumerate(sources):
        obj = os.path.join(work, "lib%d.o" % index)
        run(lib_cmd + ["-c", os.path.join(args.source, source), "-o", obj])
        objs.append(obj)
    # The user's code gets the library's headers, not its flags.
    prog = os.path.join(work, "consumer")
    run([args.cc] + shlex.split(args.cflags) + ["-I" + includes[0], consumer_c(args)] + objs +
        ["-o", prog])
    run_consumer(prog)


# --------------------------------------------------------------------------
def check_arduino(args):
    work = fresh_dir(args.work)
    bundle = os.path.join(work, "rtmem")
    run([args.cmake, "-DOUT=" + bundle, "-P",
         os.path.join(args.source, "packaging", "arduino", "bundle.cmake")])
    props = parse_properties(os.path.join(bundle, "library.properties"))
    if props.get("name") != "rtmem":
        fail("the bundle's library.properties is not rtmem's")
    src = os.path.join(bundle, "src")
    if not os.path.isfile(os.path.join(src, props.get("includes", "rtmem.h"))):
        fail("the bundle lacks its entry header in src/")
    # The Arduino IDE compiles every file under src/ with src/ as the only
    # include path of the library and no definition of ours.
    sources = [os.path.join(bundle, f) for f in c_sources(bundle)]
    prog = os.path.join(work, "sketch")
    build_program(args, sources + [consumer_c(args)], [src], ["RTM_CONSUMER_ARDUINO_HEADER"], prog)
    run_consumer(prog)
    # A sketch is C++: the documented one must compile against the bundle.
    cxx = cxx_of(args.cc)
    # Syntax only, so the build's flags (-m32, sanitizers) are not needed.
    run([cxx, "-std=c++11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", "-I" + src,
         os.path.join(args.source, "tests", "packaging", "sketch.cpp")])


def cxx_of(cc):
    """The C++ driver that goes with the C compiler cc (gcc: g++, clang:
    clang++, cc: c++), keeping any version suffix and directory."""
    head, name = os.path.split(cc)
    for c_name, cxx_name in (("clang", "clang++"), ("gcc", "g++"), ("cc", "c++")):
        if c_name in name:
            candidate = os.path.join(head, name.replace(c_name, cxx_name, 1))
            found = shutil.which(candidate)
            if found:
                return found
    fail("no C++ compiler goes with %s (the Arduino sketch is C++)" % cc)


# --------------------------------------------------------------------------
def cmake_sources(args):
    """CMake's library sources (RTMEM_CORE_SOURCES, RTMEM_LIBRARY_SOURCES),
    relative to the source root, from the file tests/CMakeLists.txt writes."""
    with open(args.sources_file, encoding="utf-8") as f:
        paths = [p for p in f.read().replace("\n", ";").split(";") if p]
    return sorted({os.path.relpath(p, args.source) for p in paths})


def check_readme_sources(args):
    with open(os.path.join(args.source, "README.md"), encoding="utf-8") as f:
        text = f.read()
    match = re.search(r"### A plain Makefile.*?```make\n(.*?)```", text, re.S)
    if not match:
        fail("README.md has no Makefile block under '### A plain Makefile'")
    listed = re.findall(r"\$\(RTMEM\)/(src/[A-Za-z0-9_/]+\.c)", match.group(1))
    if len(listed) != len(set(listed)):
        fail("README.md lists a source twice: %s" % listed)
    ours = [p for p in cmake_sources(args) if not p.startswith("src/port/")]
    ports = sorted(p for p in c_sources(args.source) if p.startswith("src/port/"))
    expected = sorted(ours + ports)
    if sorted(listed) != expected:
        fail("README.md's Makefile lists %s\nCMake builds %s (+ every port file)\n"
             "missing: %s, extra: %s" % (sorted(listed), ours, sorted(set(expected) - set(listed)),
                                         sorted(set(listed) - set(expected))))
    # And CMake's list plus the ports is everything under src/, which is
    # what Arduino and PlatformIO compile.
    if expected != c_sources(args.source):
        fail("src/ holds %s, CMake builds %s" % (c_sources(args.source), expected))


def check_freertos_makefile(args):
    """docs/freertos.md's Makefile for the FreeRTOS heap drop-in names every
    rtmem source the drop-in needs: compiled together (with our stand-in
    kernel headers), they leave no rtm_* symbol undefined."""
    with open(os.path.join(args.source, "docs", "freertos.md"), encoding="utf-8") as f:
        text = f.read()
    match = re.search(r"With a plain makefile:\s*```make\n(.*?)```", text, re.S)
    if not match:
        fail("docs/freertos.md has no Makefile block after 'With a plain makefile:'")
    block = match.group(1)
    listed = re.findall(r"\$\(RTMEM\)/((?:src|compat)/[A-Za-z0-9_/]+\.c)", block)
    defines = re.findall(r"-D(RTM_[A-Z0-9_]+)", block)
    for path in listed:
        if not os.path.isfile(os.path.join(args.source, path)):
            fail("docs/freertos.md lists %s, which does not exist" % path)
    work = fresh_dir(args.work)
    include = [os.path.join(args.source, d) for d in
               ("include", "src", "compat/freertos", "tests/freertos_stub")]
    objects = compile_objects(args, [os.path.join(args.source, p) for p in listed], include,
                              defines, os.path.join(work, "obj"))
    combined = os.path.join(work, "dropin.o")
    run([args.cc] + shlex.split(args.cflags) + ["-r", "-nostdlib", "-o", combined] + objects)
    _rc, out = run([args.nm, "-u", combined])
    missing = sorted({line.split()[-1] for line in out.splitlines()
                      if line.split() and line.split()[-1].startswith("rtm_")})
    if missing:
        fail("docs/freertos.md's source list leaves %s undefined" % missing)


# --------------------------------------------------------------------------
def bss_bytes(args, obj):
    _rc, out = run([args.nm, "-S", obj])
    total = 0
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in ("b", "B", "C"):
            total += int(parts[1], 16)
    return total


def check_preset_bss(args):
    work = fresh_dir(args.work)
    src = os.path.join(args.source, "src", "presets", "esp32s3.c")
    results = {}
    for name, defines in (("host", []), ("linker", ["RTM_PRESET_LINKER"]),
                          ("no_psram", ["RTM_PRESET_ESP32S3_PSRAM_SIZE=0"])):
        obj = os.path.join(work, name + ".o")
        run([args.cc] + strict_flags(args) + ["-c", "-I" + os.path.join(args.source, "include"),
                                               "-I" + os.path.join(args.source, "src"),
                                               src, "-o", obj] + ["-D" + d for d in defines])
        results[name] = bss_bytes(args, obj)
    mib = 1024 * 1024
    if results["host"] < 8 * mib:
        fail("esp32s3.o reserves %d bytes without RTM_PRESET_LINKER; docs/targets.md says "
             "over 8 MiB" % results["host"])
    if results["linker"] > 4096:
        fail("esp32s3.o with RTM_PRESET_LINKER still reserves %d bytes" % results["linker"])
    if results["no_psram"] > mib:
        fail("esp32s3.o without PSRAM reserves %d bytes; docs/targets.md says under 1 MiB"
             % results["no_psram"])
    print("esp32s3.o .bss: %(host)d bytes; RTM_PRESET_LINKER: %(linker)d; no PSRAM: "
          "%(no_psram)d" % results)


def check_stacks_snippets(args):
    """docs/stacks.md's examples as one program: the first block's includes
    at the top, RTM_STACK_STORAGE and static lines at file scope, every other
    line (but the '...' elision) in main, with a thread function for the
    second block to start. Compiled only: what they measure is test_stack's
    business."""
    with open(os.path.join(args.source, "docs", "stacks.md"), encoding="utf-8") as f:
        blocks = re.findall(r"^```c\n(.*?)^```", f.read(), re.S | re.M)
    if len(blocks) != 2:
        fail("docs/stacks.md has %d C blocks, this check knows 2" % len(blocks))
    lines = [line for block in blocks for line in block.splitlines()]
    includes = [line for line in lines if line.startswith("#include")]
    file_scope = [line for line in lines if line.startswith(("RTM_STACK_STORAGE", "static "))]
    body = [line for line in lines
            if line not in includes and line not in file_scope and line.strip() not in ("", "...")]
    program = "\n".join(includes + ["", "static void wifi_task(void *arg)", "{",
                                     "    (void)arg;", "}", ""] + file_scope +
                         ["", "int main(void)", "{"] + body + ["    return 0;", "}", ""])
    work = fresh_dir(args.work)
    path = os.path.join(work, "stacks_md.c")
    with open(path, "w", encoding="utf-8") as f:
        f.write(program)
    cmd = [args.cc] + strict_flags(args) + ["-I" + os.path.join(args.source, "include"),
                                            "-DRTM_PORT_POSIX", "-c", path,
                                            "-o", os.path.join(work, "stacks_md.o")]
    code, out = run(cmd, expect_ok=False)
    if code != 0:
        fail("docs/stacks.md's examples do not compile:\n%s\n%s" % (program, out))


# docs/architecture.md's layer diagram, top (7) to bottom (0), for the files
# under src/ and the headers they include (paths relative to src/ or
# include/). util.h holds the helpers every core module shares, strategies
# included, so it sits with them.
LAYER_OF = [
    (7, ["monitor.c", "monitor_advice.c", "monitor_telemetry.c", "monitor_internal.h",
         "rtmem/monitor.h"]),
    (6, ["trace.c", "task_stats.c", "observer.c", "rtmem/trace.h", "rtmem/task_stats.h",
         "rtmem/observer.h"]),
    (5, ["caps.c", "presets/*.c", "rtmem/caps.h", "rtmem/presets/*.h"]),
    (4, ["pool.c", "rtmem/pool.h"]),
    (3, ["heap.c", "heap_check.c", "heap_text.c", "poison.c", "poison.h", "heap_internal.h",
         "rtmem/heap.h", "rtmem/debug.h"]),
    (2, ["output.c", "rtmem/output.h"]),
    (1, ["strategy/*", "util.h"]),
    (0, ["port/*", "rtmem/port.h", "rtmem/stack.h", "rtmem/config.h"]),
]
# The system headers the core may reach (architecture.md, "The core").
CORE_SYSTEM_HEADERS = {"stdint.h", "stddef.h", "stdbool.h", "string.h"}


def layer_of(rel):
    for layer, patterns in LAYER_OF:
        if any(fnmatch.fnmatch(rel, pat) for pat in patterns):
            return layer
    return None


def includes_of(path):
    """(quoted, system) include names of one file, comments left out."""
    with open(path, encoding="utf-8") as f:
        text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
    quoted = re.findall(r'^\s*#\s*include\s+"([^"]+)"', text, re.M)
    system = re.findall(r"^\s*#\s*include\s+<([^>]+)>", text, re.M)
    return quoted, system


def resolve_include(source, including, name):
    """The tree's file a quoted include names, relative to src/ or include/
    (with its root), or None for a file from outside (rtmem_config.h, the
    kernel's headers)."""
    for root in (os.path.dirname(including), os.path.join(source, "include"),
                 os.path.join(source, "src")):
        path = os.path.normpath(os.path.join(root, name))
        if os.path.isfile(path):
            for top in ("src", "include"):
                base = os.path.join(source, top)
                if path.startswith(base + os.sep):
                    return path, os.path.relpath(path, base)
    return None


def check_layers(args):
    src = os.path.join(args.source, "src")
    problems = []
    for rel_c in [os.path.relpath(p, "src") for p in c_sources(args.source)] + \
            [os.path.relpath(os.path.join(d, n), src) for d, _s, ns in os.walk(src)
             for n in ns if n.endswith(".h")]:
        path = os.path.join(src, rel_c)
        own = layer_of(rel_c)
        if own is None:
            problems.append("%s is in no layer of the diagram" % rel_c)
            continue
        for name in includes_of(path)[0]:
            found = resolve_include(args.source, path, name)
            if found is None:
                continue
            theirs = layer_of(found[1])
            if theirs is None:
                problems.append("%s includes %s, which is in no layer" % (rel_c, found[1]))
            elif theirs > own and not (own == 1 and found[1] == "rtmem/heap.h"):
                # The one header a strategy reaches up to: rtm_strategy_t, the
                # table every strategy fills in, is public in heap.h.
                problems.append("%s (layer %d) includes %s (layer %d)" %
                                (rel_c, own, found[1], theirs))

    # The core: heap.c, output.c and every strategy but system.c, with
    # everything they include from the tree.
    core = ["heap.c", "output.c"] + sorted(
        os.path.relpath(p, "src") for p in c_sources(args.source, "src/strategy")
        if not p.endswith("system.c"))
    for rel_c in core:
        seen, todo = set(), [os.path.join(src, rel_c)]
        while todo:
            path = todo.pop()
            if path in seen:
                continue
            seen.add(path)
            quoted, system = includes_of(path)
            for name in system:
                if name not in CORE_SYSTEM_HEADERS:
                    problems.append("core file %s reaches <%s> (through %s)" %
                                    (rel_c, name, os.path.relpath(path, args.source)))
            for name in quoted:
                found = resolve_include(args.source, path, name)
                if found is not None:
                    todo.append(found[0])

    # Strategies call neither the port nor the output hook, and the front
    # only through rtm_front_refused.
    for rel in sorted(os.listdir(os.path.join(src, "strategy"))):
        with open(os.path.join(src, "strategy", rel), encoding="utf-8") as f:
            code = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
        for call in sorted(set(re.findall(r"\b(rtm_(?:port|line|output|front)_\w*)\s*\(", code))):
            if call != "rtm_front_refused":
                problems.append("strategy/%s calls %s" % (rel, call))
    if problems:
        fail("docs/architecture.md's layers do not hold:\n  " + "\n  ".join(problems))


CHECKS = {
    "every-source": check_every_source,
    "pkgconfig": check_pkgconfig,
    "find-package": check_find_package,
    "installed-options": check_installed_options,
    "subdir": check_subdir,
    "esp-idf": check_esp_idf,
    "manifests": check_manifests,
    "platformio": check_platformio,
    "arduino": check_arduino,
    "readme-sources": check_readme_sources,
    "preset-bss": check_preset_bss,
    "freertos-makefile": check_freertos_makefile,
    "layers": check_layers,
    "stacks-snippets": check_stacks_snippets,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("check", choices=sorted(CHECKS))
    parser.add_argument("--source", required=True)
    parser.add_argument("--work", default=None)
    parser.add_argument("--build", default=None, help="the build tree to install from")
    parser.add_argument("--cc", default="cc")
    parser.add_argument("--cflags", default="")
    parser.add_argument("--cmake", default="cmake")
    parser.add_argument("--generator", default="Unix Makefiles")
    parser.add_argument("--make-program", default="")
    parser.add_argument("--pkg-config", default="pkg-config")
    parser.add_argument("--nm", default="nm")
    parser.add_argument("--sources-file", default=None)
    parser.add_argument("--emulator", default="",
                        help="a ;-list: the command to run built programs through")
    args = parser.parse_args()
    EMULATOR.extend(w for w in args.emulator.split(";") if w)
    args.source = os.path.abspath(args.source)
    if args.work is not None:
        args.work = os.path.abspath(args.work)
    try:
        CHECKS[args.check](args)
    except CheckFailed as err:
        print("%s: FAILED: %s" % (args.check, err))
        return 1
    print("%s: ok" % args.check)
    return 0


if __name__ == "__main__":
    sys.exit(main())
