#!/usr/bin/env python3
"""tool_top_tmux.py RTMEM [EMULATOR...]

`rtmem top` on a real terminal: each case starts it in a tmux session of its
own server (120x40), feeds it telemetry, reads the screen with capture-pane
and sends keys. Cases:
  file     a file that grows while top runs: regions, numbers, tasks, pools,
           alerts raised and cleared, log lines; resized down to a tiny
           window and back; a region and a pool of 2^64 - 1 on 1000 columns,
           then 1x1 and back; q quits with exit 0
  garbage  through standard input (-): escape sequences, NUL, invalid UTF-8,
           an overlong line, a telemetry line cut by a reset; shown escaped
           and counted, the screen intact; the end of input is shown;
           SIGTERM ends it with exit 0
  pty      a pseudo-terminal closed mid-way: top says the device is gone,
           keeps the last data, does not crash; q quits with exit 0
  reopen   the device path (a symlink, like /dev/serial/by-id/...) comes
           back as a new pseudo-terminal: top reads it again; Ctrl-C quits
           with exit 0
  ascii    a terminal whose locale is not UTF-8: bars in ASCII, nothing
           beyond ASCII on the screen; a task without heap or stack figures
  demo     the demo firmware (RTMEM_TEST_FIRMWARE_SIM, run under
           RTMEM_TEST_EMULATOR's words when set) writing telemetry
           while top follows it: its regions, tasks, pool, alerts and every
           line, none bad
  hangup   more regions than the table holds are counted; SIGHUP (the
           terminal closed) ends it with exit 0
  terminal-gone  the terminal closes without a SIGHUP reaching rtmem: it
           ends (exit 0) instead of running on
  usage    bad options and sources: exit 2 with a message, before any
           screen is drawn (a non-standard baud rate, no SOURCE, a missing
           file, stdin that is the terminal itself, no terminal at all)
Every wait polls the screen until its condition holds (60 s at most), so a
loaded machine slows the test down but does not fail it. Exit 1 on the
first failure, with the screen as it was."""
import os
import pty
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

RTMEM = sys.argv[1]
EMULATOR = sys.argv[2:]
TIMEOUT = 60.0
# One tmux server per session: a server that is shutting down may still
# accept a new session on its socket and take it down with it.
SERVER = ""
SESSIONS = 0
WORK = tempfile.mkdtemp(prefix="rtmem-top-tmux-")
# The server's configuration: a pane stays after its program ends, so that
# its last screen can be shown when a case fails.
CONF = os.path.join(WORK, "tmux.conf")
with open(CONF, "w") as f:
    f.write("set -g remain-on-exit on\n")
STATUS = ""


def tmux(*args, check=True):
    p = subprocess.run(["tmux", "-L", SERVER, "-f", CONF, *args],
                       capture_output=True, text=True)
    if p.returncode != 0:
        if check:
            raise RuntimeError(f"tmux {' '.join(args)}: {p.stderr.strip()}")
        return None
    return p.stdout


class Failure(Exception):
    pass


def stop_server():
    """Ends the current tmux server and removes its socket (tmux 3.3 can
    leave it behind)."""
    if not SERVER:
        return
    tmux("kill-server", check=False)
    sock = os.path.join(os.environ.get("TMUX_TMPDIR", "/tmp"), f"tmux-{os.getuid()}", SERVER)
    try:
        os.unlink(sock)
    except OSError:
        pass


def start(command_words, env=()):
    """A new session running rtmem top with these arguments (and
    environment settings, "NAME=value")."""
    prefix = ["env", *env] if env else []
    start_shell(" ".join(shlex.quote(w) for w in [*prefix, *EMULATOR, RTMEM, "top", *command_words]))


def start_shell(shell_cmd):
    """A new session running the shell command. Its exit status is written
    to STATUS by the shell around it (tmux 3.3 sometimes leaves a pane's
    process unreaped and its status unknown); that shell ignores the
    signals the cases send, and sets them back to the default for rtmem."""
    global SERVER, SESSIONS, STATUS
    stop_server()
    SESSIONS += 1
    SERVER = f"rtmem-top-test-{os.getpid()}-{SESSIONS}"
    STATUS = os.path.join(WORK, f"status-{SESSIONS}")
    wrapper = (f"trap '' INT TERM HUP; (trap - INT TERM HUP; exec {shell_cmd}); "
               f"echo $? > {shlex.quote(STATUS)}")
    tmux("new-session", "-d", "-s", "t", "-x", "120", "-y", "40",
         "-e", "LANG=C.UTF-8", "-e", "LC_ALL=C.UTF-8", "sh", "-c", wrapper)


def rtmem_pid():
    """rtmem's process: the child of the pane's shell."""
    shell = tmux("display-message", "-p", "-t", "t", "#{pane_pid}").strip()
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        p = subprocess.run(["pgrep", "-P", shell], capture_output=True, text=True)
        if p.stdout.strip():
            return int(p.stdout.split()[0])
        time.sleep(0.1)
    raise Failure("rtmem top's process not found")


def screen():
    return tmux("capture-pane", "-p", "-t", "t", check=False) or ""


def screen_with_colours():
    return tmux("capture-pane", "-e", "-p", "-t", "t", check=False) or ""


def red_name(name):
    """True when the row of name starts with it drawn in red (SGR 31)."""
    for line in screen_with_colours().splitlines():
        plain = re.sub(r"\x1b\[[0-9;]*m", "", line)
        if plain.startswith(name + " "):
            head = line.split(name, 1)[0]
            return re.search(r"\x1b\[[0-9;]*\b31m", head) is not None
    return False


def signal_and_check(sig):
    os.kill(rtmem_pid(), sig)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        status = dead()
        if status is not None:
            if status != 0:
                raise Failure(f"signal {sig}: exit status {status}, expected 0:\n{screen()}")
            return
        time.sleep(0.1)
    raise Failure(f"signal {sig} did not end rtmem top within {TIMEOUT:.0f} s:\n{screen()}")


def dead():
    """None while rtmem runs, its exit status once it has ended (128 + N
    when signal N ended it)."""
    try:
        with open(STATUS) as f:
            text = f.read().strip()
    except FileNotFoundError:
        return None
    return int(text) if text else None


def wait_for(what, check):
    """Polls the screen until check(screen) is true. check may also raise
    Failure to say what is still missing: the screen can be caught in the
    middle of a redraw, so nothing is judged on one capture alone."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        s = screen()
        problem = None
        try:
            if check(s):
                return s
        except Failure as e:
            problem = str(e)
        status = dead()
        if status is not None:
            raise Failure(f"rtmem top ended (status {status}) while waiting for {what}:\n{screen()}")
        if time.monotonic() > deadline:
            raise Failure(f"{problem or 'no ' + what} after {TIMEOUT:.0f} s:\n{s}")
        time.sleep(0.1)


def need(s, *needles):
    """True, or Failure naming the first needle not on the screen s."""
    for n in needles:
        if n not in s:
            raise Failure(f"'{n}' not on the screen")
    return True


def need_row(s, name, text, width=None):
    if text not in row_of(s, name, width):
        raise Failure(f"the row of {name} lacks '{text}'")
    return True


def row_of(s, name, width=None):
    """The row of a region, task or pool: from its name to the end of the
    line, or `width` columns (tasks and pools share rows, side by side)."""
    for line in s.splitlines():
        at = 0 if line.startswith(name + " ") else line.find(" " + name + " ") + 1
        if at > 0 or line.startswith(name + " "):
            return line[at:at + width] if width else line[at:]
    return ""


def quit_and_check(key="q"):
    tmux("send-keys", "-t", "t", key)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        status = dead()
        if status is not None:
            if status != 0:
                raise Failure(f"q: exit status {status}, expected 0:\n{screen()}")
            return
        time.sleep(0.1)
    raise Failure(f"q did not quit within {TIMEOUT:.0f} s:\n{screen()}")


def mem(ms, name, total, free, min_free, largest, alerts=0, trend=None, kind="heap"):
    frag = 0 if free == 0 else 1000 - largest * 1000 // free
    t = f',"trend_bpm":{trend}' if trend is not None else ""
    return (f'{{"rtmem":1,"type":"mem","ms":{ms},"seq":1,"name":"{name}","kind":"{kind}",'
            f'"total":{total},"free":{free},"min_free":{min_free},"largest":{largest},'
            f'"used_blocks":4,"free_blocks":2,"failed":0,"frag_pm":{frag}{t},"alerts":{alerts}}}\n')


def task(ms, name, heap, peak, size, stack_peak, alerts=0):
    return (f'{{"rtmem":1,"type":"task","ms":{ms},"seq":1,"name":"{name}","id":7,"heap":{heap},'
            f'"heap_peak":{peak},"stack_size":{size},"stack_peak":{stack_peak},"alerts":{alerts}}}\n')


def pool(ms, name, used, peak, cap, failed, waits, alerts=0):
    return (f'{{"rtmem":1,"type":"pool","ms":{ms},"seq":1,"name":"{name}","block":32,'
            f'"capacity":{cap},"used":{used},"peak":{peak},"failed":{failed},"waits":{waits},'
            f'"alerts":{alerts}}}\n')


def rec(ms, source, text):
    return (f'{{"rtmem":1,"type":"rec","ms":{ms},"rule":"stack_size","source":"{source}",'
            f'"size":8192,"peak_used":7800,"advised":9750,"text":"{text}"}}\n')


def trace(ms, line):
    return f'{{"rtmem":1,"type":"trace","ms":{ms},"line":"{line}"}}\n'


def alert(ms, name, state, source, value, threshold):
    return (f'{{"rtmem":1,"type":"alert","ms":{ms},"alert":"{name}","state":"{state}",'
            f'"source":"{source}","value":{value},"threshold":{threshold}}}\n')


def case_file(tmp):
    path = os.path.join(tmp, "live.jsonl")
    with open(path, "w") as f:
        f.write("I (10) boot: first log line\n")
        f.write(mem(1000, "DRAM", 100000, 50000, 40000, 30000))
        f.write(mem(1000, "PSRAM", 4194304, 4000000, 3900000, 3900000, kind="heap"))
        for i in range(10):
            f.write(mem(1000, f"R{i}", 1000, 900, 900, 900))
        f.write(task(1000, "wifi", 2048, 4096, 8192, 4096))
        f.write(pool(1000, "msgs", 3, 5, 16, 0, 0))
        f.write(trace(1000, "# rtmem-trace 1"))
        for i in range(8):
            f.write(rec(1000, "wifi", f"advice number {i}"))
    start(["--baud", "9600", path])

    def first(s):
        need(s, "DRAM", "PSRAM", "R9", "wifi", "msgs", "first log line", "ALERTS  0 active",
             "--baud ignored", "t=1.0 s", "1 trace lines", "RECOMMENDATIONS  8",
             "advice number 0", "advice number 7")
        need_row(s, "DRAM", "50%")
        need_row(s, "DRAM", "60%")
        need_row(s, "wifi", "50%", 58)
        need_row(s, "msgs", "3/16", 58)
        if red_name("DRAM"):
            raise Failure("DRAM is red without an alert")
        return True
    wait_for("the first screen", first)

    # The file grows: new values, an alert, a trend, log lines.
    with open(path, "a") as f:
        f.write(mem(2000, "DRAM", 100000, 10000, 9000, 4000, alerts=1, trend=-3072))
        f.write(alert(2000, "low_free", "raised", "DRAM", 10000, 20000))
        f.write(task(2000, "wifi", 6000, 8000, 8192, 7800, alerts=32))
        f.write(pool(2000, "msgs", 16, 16, 16, 4, 9, alerts=64))
        for i in range(40):
            f.write(f"I (2000) app: filler {i}\n")
        f.write("I (2000) app: hello from the file\n")

    def second(s):
        need(s, "hello from the file", "low_free", "stack_high", "pool_exhausted", "3.0K/min",
             "ALERTS  3 active", "t=2.0 s", "RECOMMENDATIONS  the last 5 of 8")
        need_row(s, "DRAM", "90%")
        need_row(s, "wifi", "95%", 58)
        need_row(s, "msgs", "16/16", 58)
        if not red_name("DRAM") or red_name("PSRAM"):
            raise Failure("only DRAM, which has an alert, should be red")
        return True
    wait_for("the second sample", second)

    with open(path, "a") as f:
        f.write(alert(3000, "low_free", "cleared", "DRAM", 30000, 20000))
    wait_for("the cleared alert gone", lambda s: "ALERTS  2 active" in s
             and "low_free" not in s)

    # Smaller and smaller, then back: never a crash.
    tmux("resize-window", "-t", "t", "-x", "60", "-y", "15")
    wait_for("the 60x15 screen: no second bar, '... N more regions', alerts above tasks",
             lambda s: "DRAM" in s and "more regions" in s and "LARGEST" not in s
             and "ALERTS  2 active" in s and "TASK" in s and s.index("ALERTS") < s.index("TASK")
             and max(len(l) for l in s.splitlines()) <= 60)
    tmux("resize-window", "-t", "t", "-x", "20", "-y", "5")
    wait_for("the too-small notice", lambda s: "too small" in s)
    tmux("resize-window", "-t", "t", "-x", "120", "-y", "40")
    wait_for("the full screen again", lambda s: "LARGEST" in s and "R9" in s)

    # Sizes at 2^64 - 1 (no wrap: 100 %, 50 %, "16.0E", not a cut number)
    # on a terminal of 1000 columns (every header label still there), then
    # 1x1 and back.
    u64max = 2**64 - 1
    with open(path, "a") as f:
        f.write(mem(4000, "HUGE", u64max, 0, 0, u64max // 2))
        f.write(pool(4000, "BIGPOOL", u64max, u64max, u64max, u64max, u64max))
    tmux("resize-window", "-t", "t", "-x", "1000", "-y", "40")

    def huge(s):
        header = next((l for l in s.splitlines() if l.startswith("MEMORY")), "")
        for label in ("USED (now, peak)", "NOW", "PEAK", "FREE (largest block)", "LARGEST",
                      "FRAG", "TREND"):
            if label not in header:
                raise Failure(f"the MEMORY header lacks '{label}': {header.rstrip()}")
        need_row(s, "HUGE", " 16.0E ")
        need_row(s, "HUGE", " 8.0E ")
        need_row(s, "HUGE", "100%")
        need_row(s, "BIGPOOL", " 18E/18E   18E   18E   18E ")
        return True
    wait_for("a 2^64 - 1 region on 1000 columns", huge)
    tmux("resize-window", "-t", "t", "-x", "1", "-y", "1")
    time.sleep(1.0)
    if dead() is not None:
        raise Failure(f"rtmem top ended at 1x1 (status {dead()})")
    tmux("resize-window", "-t", "t", "-x", "120", "-y", "40")
    wait_for("the full screen after 1x1", lambda s: "LARGEST" in s and "HUGE" in s)
    quit_and_check()


def case_garbage(tmp):
    path = os.path.join(tmp, "garbage.bin")
    with open(path, "wb") as f:
        f.write(b"I (1) boot: \x1b[2J\x1b[H\x1b]0;title\x07 clear attempt\n")
        f.write(b"nul \x00 here, invalid \xff\xfe\xc0\xaf, del \x7f, c1 \xc2\x9b, ok t\xc3\xa9st\n")
        f.write(b"x" * 10000 + b"\n")
        f.write(mem(1, "DRAM", 1000, 500, 400, 500).encode()[:60] + b"ets Jul 29 2019 boot\n")
        f.write(mem(2, "GOODRAM", 1000, 250, 200, 250).encode())
        f.write(b"\x1b[31m{\"rtmem\":1,\"type\":\"mem\"}\n")
        f.write(b"trailing half li")
    # Through standard input: keys come from the terminal.
    start_shell(" ".join(shlex.quote(w) for w in [*EMULATOR, RTMEM, "top", "-"])
                + " < " + shlex.quote(path))

    def ended(s):
        lines = s.splitlines()
        if not lines or not lines[0].startswith(" rtmem top"):
            raise Failure("the title row is gone (an escape sequence reached the terminal?)")
        need(s, "INPUT ENDED", "\\x1b[2J", "\\x00", "\\xff\\xfe", "t\u00e9st", "\\xc2\\x9b",
             "(cut off)", "longer than 4096 bytes", "bad 3")
        return need_row(s, "GOODRAM", "75%")
    wait_for("the garbage shown escaped and the end of input", ended)
    signal_and_check(signal.SIGTERM)


def pty_pair():
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    return master, slave, path


def write_all(fd, data):
    while data:
        n = os.write(fd, data)
        data = data[n:]


def case_pty(tmp):
    master, slave, path = pty_pair()
    start(["--baud", "921600", path])
    # Written once top has opened the device and made it raw.
    wait_for("the device opened", lambda s: "921600 baud" in s and "waiting for data" in s)
    write_all(master, (mem(1, "UARTRAM", 2000, 1000, 900, 800)
                       + task(1, "net", 100, 200, 4096, 1024)).encode())
    wait_for("the region from the pseudo-terminal", lambda s: "UARTRAM" in s
             and "921600 baud" in s)
    os.close(slave)
    write_all(master, b"I (5) app: last words\n" + mem(2, "UARTRAM", 2000, 500, 400, 300).encode()[:40])
    wait_for("the last log line", lambda s: "last words" in s)
    os.close(master)
    wait_for("the device-gone notice and the last data",
             lambda s: need(s, "DEVICE GONE", "UARTRAM", "net") and need_row(s, "UARTRAM", "50%"))
    # Still alive a while later, retrying.
    s = wait_for("two failed reopens", lambda s: re.search(r"\(try ([2-9]|[1-9][0-9]+): ", s)
                 is not None)
    # Said once: a reopen that opens and hangs up at once is no comeback.
    if s.count("-- device gone") != 1 or "device back" in s:
        raise Failure(f"the log should say 'device gone' once and nothing of a comeback:\n{s}")
    quit_and_check()


def case_reopen(tmp):
    link = os.path.join(tmp, "ttyRTMEM")
    master, slave, path = pty_pair()
    os.symlink(path, link)
    start([link])
    wait_for("the device opened", lambda s: "waiting for data" in s)
    write_all(master, mem(1, "BEFORE", 1000, 500, 400, 300).encode())
    wait_for("the first device's data", lambda s: "BEFORE" in s)
    os.close(slave)
    os.close(master)
    wait_for("the device-gone notice", lambda s: "DEVICE GONE" in s)
    master2, slave2, path2 = pty_pair()
    os.unlink(link)
    os.symlink(path2, link)
    # Sent until it shows: top reopens the path within a second, and the
    # first bytes may meet the line discipline before top makes it raw.
    deadline = time.monotonic() + TIMEOUT
    s = screen()
    while "AFTER" not in s or "came back 1 time" not in s:
        write_all(master2, mem(2, "AFTER", 1000, 100, 90, 80).encode())
        time.sleep(0.3)
        s = screen()
        if time.monotonic() > deadline:
            raise Failure(f"no data from the second device:\n{s}")
    wait_for("the old data and the note", lambda s: need(s, "BEFORE", "AFTER", "device back"))
    quit_and_check("C-c")
    os.close(slave2)
    os.close(master2)


def case_ascii(tmp):
    path = os.path.join(tmp, "ascii.jsonl")
    with open(path, "w") as f:
        f.write(mem(1, "ASCRAM", 1000, 500, 400, 300, trend=-2048))
        f.write(task(1, "t\u00e9st", 100, 200, 4096, 2048))
        f.write('{"rtmem":1,"type":"task","ms":1,"seq":1,"name":"bare","id":9,"alerts":0}\n')
        f.write("I (1) log: caf\u00e9 \u2588\n")
    start([path], env=("LANG=C", "LC_ALL=C"))

    def plain(s):
        need(s, "ASCRAM", "#", "-2.0K/min", "caf?? ???", "t??st", "ALERTS")
        # A task line without heap or stack figures.
        need_row(s, "bare", "-       -  stack not known", 58)
        odd = sorted({c for c in s if ord(c) > 126})
        if odd:
            raise Failure(f"characters beyond ASCII on a C-locale screen: {odd}")
        return True
    wait_for("an ASCII-only screen", plain)
    quit_and_check()


def case_demo(tmp):
    """The demo firmware writing its telemetry while top follows the file:
    the lines the library's monitor really writes, live."""
    firmware = os.environ.get("RTMEM_TEST_FIRMWARE_SIM", "")
    if not firmware:
        print("     demo: no firmware_sim in this build (RTMEM_TEST_FIRMWARE_SIM unset): not run")
        return
    out = os.path.join(tmp, "demo")
    os.mkdir(out)
    telemetry = os.path.join(out, "firmware_sim.telemetry.jsonl")
    # RTMEM is already wrapped for an emulator; the demo program gets its words.
    emulator = os.environ.get("RTMEM_TEST_EMULATOR", "").split()
    demo = subprocess.Popen([*emulator, firmware, "--seconds", "3", "--quiet", "--out", out],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not os.path.exists(telemetry):
            if demo.poll() is not None or time.monotonic() > deadline:
                raise Failure(f"firmware_sim wrote no {telemetry} (exit {demo.poll()})")
            time.sleep(0.05)
        start([telemetry])
        wait_for("the demo's regions, tasks, pool and alerts", lambda s: need(
            s, "DRAM", "SPIRAM", "internal", "D/IRAM", "wifi", "camera", "sensor_msgs",
            "low_min_free", "following"))
        if demo.wait(timeout=TIMEOUT * 2) != 0:
            raise Failure(f"firmware_sim failed (exit {demo.returncode})")
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    with open(telemetry, "rb") as f:
        lines = sum(1 for _ in f)
    wait_for(f"all {lines} lines of the demo, none bad",
             lambda s: need(s, f" {lines} lines ", "RECOMMENDATIONS")
             and re.search(r" bad 0\s*$", s, re.M) is not None)
    quit_and_check()


def case_hangup(tmp):
    path = os.path.join(tmp, "hup.jsonl")
    with open(path, "w") as f:
        f.write(mem(1, "HUPRAM", 1000, 500, 400, 300))
        for i in range(33):  # two regions more than the table holds
            f.write(mem(1, f"X{i}", 1000, 500, 400, 300))
    start([path])
    wait_for("the region and the count of the names past the table",
             lambda s: "HUPRAM" in s and "2 lines of names past the tables' room" in s)
    signal_and_check(signal.SIGHUP)


def case_terminal_gone(tmp):
    """The terminal closes under it without a SIGHUP reaching it (the shell
    around it ignores SIGHUP, so the kernel sends none): it must end, not
    spin on a dead terminal."""
    path = os.path.join(tmp, "gone.jsonl")
    with open(path, "w") as f:
        f.write(mem(1, "GONERAM", 1000, 500, 400, 300))
    start([path])
    wait_for("the region", lambda s: "GONERAM" in s)
    pid = rtmem_pid()
    stop_server()
    deadline = time.monotonic() + TIMEOUT
    while dead() is None:
        if time.monotonic() > deadline:
            raise Failure("rtmem top still runs after its terminal closed")
        time.sleep(0.1)
    try:
        os.kill(pid, 0)
        time.sleep(0.5)
        os.kill(pid, 0)
        raise Failure("rtmem top's process is still there")
    except ProcessLookupError:
        pass
    if dead() != 0:
        raise Failure(f"exit status {dead()} after the terminal closed, expected 0")


def case_usage(tmp):
    for args, needle in ((["--baud", "12345", "/dev/null"],
                          "rtmem top: --baud needs a standard rate (9600, 115200"),
                         (["--baud=115200x", "/dev/null"], "--baud needs a standard rate"),
                         (["--baud", "-9600", "/dev/null"], "--baud needs a standard rate"),
                         (["--baud"], "--baud needs a value"),
                         (["--speed", "9600", "/dev/null"], "unknown option '--speed'"),
                         ([], "no SOURCE given"),
                         (["a", "b"], "one SOURCE only"),
                         ([os.path.join(tmp, "missing")], "cannot open"),
                         ([tmp], "is a directory")):
        p = subprocess.run([*EMULATOR, RTMEM, "top", *args], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL)
        if p.returncode != 2 or needle not in p.stderr:
            raise Failure(f"rtmem top {' '.join(args)}: exit {p.returncode}, stderr {p.stderr!r}; "
                          f"expected exit 2 and '{needle}'")
    # No controlling terminal (a new session): nothing to draw on.
    ok = os.path.join(tmp, "ok.jsonl")
    with open(ok, "w") as f:
        f.write(mem(1, "R", 10, 5, 4, 3))
    p = subprocess.run([*EMULATOR, RTMEM, "top", ok], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, start_new_session=True)
    if p.returncode != 2 or "needs a terminal" not in p.stderr:
        raise Failure(f"rtmem top without a terminal: exit {p.returncode}, {p.stderr!r}")
    # "-" when standard input is the terminal: nothing to read the data from.
    err = os.path.join(tmp, "stderr.txt")
    start_shell(" ".join(shlex.quote(w) for w in [*EMULATOR, RTMEM, "top", "-"])
                + " 2>" + shlex.quote(err))
    deadline = time.monotonic() + TIMEOUT
    while dead() is None:
        if time.monotonic() > deadline:
            raise Failure(f"rtmem top - on a terminal did not exit:\n{screen()}")
        time.sleep(0.1)
    with open(err) as f:
        message = f.read()
    if dead() != 2 or "standard input is a terminal" not in message:
        raise Failure(f"rtmem top - on a terminal: exit {dead()}, stderr {message!r}")


def main():
    cases = [("file", case_file), ("garbage", case_garbage), ("pty", case_pty),
             ("reopen", case_reopen), ("ascii", case_ascii), ("demo", case_demo),
             ("hangup", case_hangup), ("terminal-gone", case_terminal_gone),
             ("usage", case_usage)]
    failed = 0
    with tempfile.TemporaryDirectory(prefix="rtmem-top-") as tmp:
        for name, fn in cases:
            t0 = time.monotonic()
            try:
                fn(tmp)
                print(f"ok   {name} ({time.monotonic() - t0:.1f} s)")
            except Failure as e:
                failed += 1
                print(f"FAIL {name}: {e}")
            finally:
                stop_server()
    shutil.rmtree(WORK, ignore_errors=True)
    print(f"{len(cases) - failed} of {len(cases)} cases passed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
