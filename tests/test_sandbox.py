"""Hostile python graders: each is contained, gets the right flag, and the host keeps working.

Small limits keep the suite fast: 2 s wall, 256 MB memory, 10 MB disk.
"""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

import graders
from graders.context import RunOptions
from graders.sandbox import PythonLimits, get_pool, grade, isolation_report

LIMITS = PythonLimits(timeout=2, memory_mb=256, disk_mb=10, cpu_seconds=1, max_processes=16,
                      max_output_bytes=1 << 20)
pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/ns/net"), reason="Linux namespaces needed")


def run(source: str, model_sample: str = "answer", item: object = None) -> graders.RunResponse:
    return graders.run({"type": "python", "name": "t", "source": source}, model_sample, item or {},
                       options=RunOptions(python_limits=LIMITS))


def flags(response: graders.RunResponse) -> dict[str, object]:
    errors = response.metadata.errors.model_dump()
    return {k: v for k, v in errors.items() if v not in (False, None)}


def server_error(response: graders.RunResponse, error_type: str) -> None:
    assert response.reward == 0.0
    errors = response.metadata.errors
    assert errors.python_grader_server_error is True, flags(response)
    assert errors.python_grader_server_error_type == error_type, flags(response)
    assert errors.python_grader_runtime_error is False


def runtime_error(response: graders.RunResponse, *needles: str) -> str:
    assert response.reward == 0.0
    errors = response.metadata.errors
    assert errors.python_grader_runtime_error is True, flags(response)
    assert errors.python_grader_server_error is False, flags(response)
    details = errors.python_grader_runtime_error_details or ""
    for needle in needles:
        assert needle in details, details
    return details


@pytest.fixture(autouse=True)
def host_alive_afterwards():
    yield
    # The host process and its sandbox still grade correctly after each hostile grader.
    ok = grade("def grade(sample, item):\n    return 0.25\n", {}, {}, LIMITS)
    assert ok.kind == "value" and ok.value == 0.25, ok


def test_plain_grade_gets_plain_dicts():
    source = (
        "def grade(sample, item):\n"
        "    assert type(sample) is dict and type(item) is dict\n"
        "    return 1.0 if sample['output_text'] == item['answer'] else 0.0\n"
    )
    assert run(source, "Paris", {"answer": "Paris"}).reward == 1.0
    assert run(source, "Lyon", {"answer": "Paris"}).reward == 0.0


def test_infinite_loop_times_out():
    started = time.monotonic()
    server_error(run("def grade(s, i):\n    while True:\n        pass\n"), "timeout")
    assert time.monotonic() - started < LIMITS.timeout + 3


def test_cpu_spin_in_threads_hits_the_cpu_limit():
    source = (
        "import threading\n"
        "def spin():\n    while True: pass\n"
        "def grade(s, i):\n"
        "    ts = [threading.Thread(target=spin) for _ in range(4)]\n"
        "    [t.start() for t in ts]\n"
        "    [t.join() for t in ts]\n"
    )
    server_error(run(source), "timeout")


def test_memory_bomb():
    server_error(run("def grade(s, i):\n    x = bytearray(1 << 30)\n    return 1.0\n"), "memory_limit")
    server_error(run("def grade(s, i):\n    x = []\n    while True:\n        x.append(' ' * 10**6)\n"),
                 "memory_limit")


def test_fork_bomb_is_bounded_and_cleaned_up():
    source = "import os\ndef grade(s, i):\n    while True:\n        os.fork()\n"
    response = run(source)
    assert response.reward == 0.0
    errors = response.metadata.errors
    # fork() fails at the process limit (the grade's error), or the grade runs out of time.
    assert errors.python_grader_runtime_error or errors.python_grader_server_error_type == "timeout", flags(response)
    if errors.python_grader_runtime_error:
        assert "Resource temporarily unavailable" in (errors.python_grader_runtime_error_details or "")
    # Every process of the grade died with it (its PID namespace is gone).
    time.sleep(0.2)
    uids = {os.stat(f"/proc/{p}").st_uid for p in os.listdir("/proc") if p.isdigit() and os.path.exists(f"/proc/{p}")}
    assert not [u for u in uids if u >= 1_500_000_000]


def test_writing_2gb_file_hits_the_disk_limit():
    source = (
        "def grade(s, i):\n"
        "    with open('big', 'wb') as f:\n"
        "        for _ in range(2048):\n"
        "            f.write(b'x' * (1 << 20))\n"
        "    return 1.0\n"
    )
    server_error(run(source), "disk_limit")


def test_many_small_files_share_one_disk_quota():
    source = (
        "def grade(s, i):\n"
        "    for n in range(100):\n"
        "        with open(f'f{n}', 'wb') as f:\n"
        "            f.write(b'x' * (1 << 20))\n"
        "    return 1.0\n"
    )
    server_error(run(source), "disk_limit")


def test_writes_go_to_a_private_dir_removed_afterwards(tmp_path):
    source = (
        "import os\n"
        "def grade(s, i):\n"
        "    assert os.listdir('.') == [], os.listdir('.')\n"
        "    open('scratch.txt', 'w').write('hello')\n"
        "    return 1.0 if open('scratch.txt').read() == 'hello' else 0.0\n"
    )
    assert run(source).reward == 1.0
    assert run(source).reward == 1.0  # the second grade starts from an empty directory again


@pytest.mark.parametrize("target", ["HOST_TMP", "/tmp/escaped.txt", "/root/escaped.txt", "/etc/escaped"])
def test_writing_outside_its_dir_fails(tmp_path, target):
    if target == "HOST_TMP":
        tmp_path.chmod(0o777)  # even a world-writable host directory is out of reach
        target = str(tmp_path / "escaped.txt")
    source = f"def grade(s, i):\n    open({target!r}, 'w').write('x')\n    return 1.0\n"
    runtime_error(run(source), "Error")
    assert not os.path.exists(target)


def test_no_network_to_a_loopback_listener():
    received: list[bytes] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            received.append(conn.recv(100) or b"<connected>")
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        source = (
            "import socket\n"
            "def grade(s, i):\n"
            f"    c = socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
            "    c.sendall(b'stolen')\n"
            "    return 1.0\n"
        )
        runtime_error(run(source), "OSError")  # network is unreachable: no interface is up
        dns = "import socket\ndef grade(s, i):\n    socket.getaddrinfo('example.com', 443)\n    return 1.0\n"
        runtime_error(run(dns), "gaierror")
    finally:
        stop.set()
        thread.join()
        listener.close()
    assert received == []


def test_planted_secret_is_not_visible(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-planted-secret-123")
    source = (
        "import os, glob\n"
        "def grade(s, i):\n"
        "    found = 'sk-planted' in repr(dict(os.environ))\n"
        "    for path in glob.glob('/proc/*/environ'):\n"
        "        try:\n"
        "            found = found or b'sk-planted' in open(path, 'rb').read()\n"
        "        except OSError:\n"
        "            pass\n"
        "    return 1.0 if found else 0.0\n"
    )
    response = run(source)
    assert not flags(response), flags(response)
    assert response.reward == 0.0


def test_no_inherited_file_descriptors_and_stdin_closed():
    source = (
        "import os, sys\n"
        "def grade(s, i):\n"
        "    fds = sorted(int(f) for f in os.listdir('/proc/self/fd'))\n"
        "    assert sys.stdin.read() == ''\n"
        "    return float(len([f for f in fds if f > 3]))\n"  # 0-2 std, 3 the result pipe
    )
    response = run(source)
    assert not flags(response), flags(response)
    assert response.reward <= 1.0  # at most the fd listdir itself opened


def test_killing_its_parent_does_not_reach_the_host():
    source = (
        "import os, signal\n"
        "def grade(s, i):\n"
        "    for pid in (os.getppid(), 1):\n"
        "        try:\n"
        "            os.kill(pid, signal.SIGKILL)\n"
        "        except OSError:\n"
        "            pass\n"
        "    return 0.5\n"
    )
    pool = get_pool()
    response = run(source)
    assert pool.alive and get_pool() is pool
    # getppid() is 0 outside the grade's PID namespace: kill(0) hits the grade's own group.
    assert response.reward == 0.5 or response.metadata.errors.python_grader_server_error_type == "crashed"


def test_sys_exit_is_a_runtime_error():
    runtime_error(run("import sys\ndef grade(s, i):\n    sys.exit(3)\n"), "SystemExit")
    runtime_error(run("import os\ndef grade(s, i):\n    os._exit(0)\n"), "exited the process")


def test_printing_100mb_hits_the_output_limit():
    # 100 MB in 1 MB lines (one 100 MB string would hit the 256 MB memory limit first).
    server_error(run("def grade(s, i):\n    for _ in range(100):\n        print('x' * (1 << 20))\n    return 1.0\n"),
                 "output_limit")
    # Printing a little is fine.
    assert run("def grade(s, i):\n    print('debug', s)\n    return 1.0\n").reward == 1.0


def test_deep_recursion():
    runtime_error(run("def f(n):\n    return f(n + 1)\ndef grade(s, i):\n    return f(0)\n"), "RecursionError")


@pytest.mark.parametrize(
    ("expr", "needle"),
    [("float('nan')", "nan"), ("float('inf')", "inf"), ("-float('inf')", "-inf"), ("'0.5'", "str"),
     ("None", "NoneType"), ("[1.0]", "list"), ("1+0j", "complex")],
)
def test_results_that_are_not_finite_real_numbers(expr, needle):
    runtime_error(run(f"def grade(s, i):\n    return {expr}\n"), needle, "finite real number")


@pytest.mark.parametrize(("expr", "expected"), [("True", 1.0), ("False", 0.0), ("3", 3.0), ("-2.5", -2.5),
                                                 ("__import__('fractions').Fraction(1, 4)", 0.25)])
def test_real_numbers_are_rewards(expr, expected):
    response = run(f"def grade(s, i):\n    return {expr}\n")
    assert not flags(response)
    assert response.reward == expected


def test_numpy_scalar_is_a_reward():
    pytest.importorskip("numpy")
    assert run("import numpy as np\ndef grade(s, i):\n    return np.float32(0.5)\n").reward == 0.5


def test_raising_gives_the_traceback_tail():
    details = runtime_error(run("def grade(s, i):\n    raise ValueError('bad sample')\n"), "ValueError: bad sample")
    assert 'File "grader.py", line 2, in grade' in details
    assert "_server.py" not in details


def test_missing_module():
    runtime_error(run("import not_a_real_module_xyz\ndef grade(s, i):\n    return 1.0\n"),
                  "ModuleNotFoundError", "not_a_real_module_xyz")


def test_source_problems_are_runtime_errors_at_run_time():
    runtime_error(run("def grade(s, i)\n    return 1.0\n"), "SyntaxError")
    runtime_error(run("def score(s, i):\n    return 1.0\n"), "no function grade")
    runtime_error(run("def grade(s):\n    return 1.0\n"), "TypeError")


def test_isolation_report_is_honest():
    report = isolation_report()
    features = report["features"]
    assert features["network_namespace"] is True
    assert features["pid_namespace_per_grade"] is True


def test_concurrent_grades_from_threads_and_asyncio():
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    source = "def grade(s, i):\n    return float(i['n'])\n"
    with ThreadPoolExecutor(8) as pool:
        values = list(pool.map(lambda n: grade(source, {}, {"n": n}, LIMITS).value, range(40)))
    assert values == [float(n) for n in range(40)]

    async def main() -> list[float]:
        responses = await asyncio.gather(*(
            graders.arun({"type": "python", "source": source}, "x", {"n": n},
                         options=RunOptions(python_limits=LIMITS)) for n in range(20)))
        return [r.reward for r in responses]

    assert asyncio.run(main()) == [float(n) for n in range(20)]


def test_pool_restarts_in_a_forked_child():
    parent = get_pool()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            ok = grade("def grade(s, i):\n    return 0.75\n", {}, {}, LIMITS).value == 0.75
            ok = ok and get_pool() is not parent
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    os.close(read)
    assert parent.alive


def test_each_grade_gets_its_own_random_seed():
    # Grades are clones of one zygote: without the at-fork reseed they would draw the same numbers.
    source = "import random\ndef grade(s, i):\n    return random.random()\n"
    values = {grade(source, {}, {}, LIMITS).value for _ in range(5)}
    assert len(values) == 5


def test_grader_importing_a_preloaded_package_runs_from_the_warm_zygote():
    pytest.importorskip("numpy")
    source = "import numpy as np\ndef grade(s, i):\n    return float(np.mean([0.0, 1.0]))\n"
    result = grade(source, {}, {}, LIMITS)
    assert result.kind == "value" and result.value == 0.5, result
    assert "numpy" in isolation_report()["features"]["preloaded"]


# ----- the zygotes' cache of compiled sources

def test_grader_code_does_not_inherit_the_servers_future_flags():
    # The fork server's module has `from __future__ import annotations`; a grader compiled there
    # must not: its annotations are objects, as in OpenAI's sandbox (plain python).
    source = "def grade(s, i) -> float:\n    return 1.0 if grade.__annotations__['return'] is float else 0.5\n"
    assert grade(source, {}, {}, LIMITS).value == 1.0
    assert grade(source, {}, {}, LIMITS).value == 1.0  # again, from the cached code object


def test_more_distinct_sources_than_source_zygotes():
    from graders.sandbox._server import SOURCE_ZYGOTES

    # Each source returns its own number; two passes, so retired source zygotes come back.
    n = SOURCE_ZYGOTES + 4
    sources = [f"def grade(s, i):\n    return {k}.0\n" for k in range(n)]
    for _ in range(2):
        results = [grade(src, {}, {}, LIMITS) for src in sources]
        assert [r.value for r in results] == [float(k) for k in range(n)], [r for r in results if r.kind != "value"]
    # ... and interleaved, concurrently.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda k: grade(sources[k % n], {}, {}, LIMITS), range(3 * n)))
    assert [r.value for r in results] == [float(k % n) for k in range(3 * n)], [r for r in results if r.kind != "value"]


def _scan_source(first: str, second: str, extra_import: str = "") -> str:
    """A grader counting, in its own memory, the places where ``first`` is followed by ``second``
    (its code holds each half, never the whole). ctypes, not /proc/self/mem: a grade that
    changed uid is not dumpable, so that is refused."""
    return f"""
import ctypes{extra_import}
def grade(s, i):
    found = 0
    with open('/proc/self/maps') as maps:
        for line in maps:
            fields = line.split()
            if 'r' not in fields[1] or (len(fields) > 5 and fields[5].startswith('[v')):
                continue
            lo, hi = (int(x, 16) for x in fields[0].split('-'))
            chunk = ctypes.string_at(lo, hi - lo)
            at = chunk.find(b'{first}')
            while at >= 0:
                if chunk[at + {len(first)}:at + {len(first) + len(second)}] == b'{second}':
                    found += 1
                at = chunk.find(b'{first}', at + 1)
    return float(found)
"""


def test_a_grade_cannot_find_another_graders_source_in_its_memory():
    # Grader A holds a marker; grader B then scans its own process memory for it. The marker is
    # split in two so that B's code holds each half but never the whole. A zygote that kept
    # other graders' compiled code (or read their sources) would leak it here.
    first, second = "QZV8XK", "PW3JRM"
    a = f"def grade(s, i):\n    marker = '{first}{second}'\n    return 1.0\n"
    for _ in range(3):  # graded again and again: A's source zygote holds its compiled code
        assert grade(a, {}, {}, LIMITS).value == 1.0
    # From the lean and the warm zygote, then from B's own source zygotes (B graded again).
    for source in (_scan_source(first, second), _scan_source(first, second, ", decimal")):
        for _ in range(2):
            result = grade(source, {}, {}, PythonLimits(timeout=20, memory_mb=1024, cpu_seconds=10))
            assert result.kind == "value" and result.value == 0.0, result


def test_a_source_that_breaks_the_compiler_is_a_runtime_error():
    # A 100,000-term sum nests too deep for CPython's compiler ("maximum recursion depth
    # exceeded during compilation"). The zygote's compile helper fails on it; the grade then
    # compiles the source itself and reports the error as usual.
    source = "def grade(s, i):\n    return " + "+".join(["1"] * 100_000) + "\n"
    runtime_error(run(source), "RecursionError")



def test_stdlib_conveniences_are_preloaded_only_where_a_source_names_them():
    # The warm zygote has imported decimal (and the other CONVENIENCE_MODULES); a grader that
    # names it runs there and finds it already loaded. One that does not runs in the lean zygote.
    named = ("import sys\nPRELOADED = 'decimal' in sys.modules\nimport decimal\n"
             "def grade(s, i):\n    return 1.0 if PRELOADED else 0.0\n")
    unnamed = "import sys\ndef grade(s, i):\n    return 1.0 if ('dec' + 'imal') in sys.modules else 0.0\n"
    assert grade(named, {}, {}, LIMITS).value == 1.0
    assert grade(unnamed, {}, {}, LIMITS).value == 0.0


def test_a_source_over_the_cache_limit_is_compiled_by_the_grade():
    from graders.sandbox._server import CACHED_SOURCE_MAX

    padding = "# " + "x" * 78 + "\n"
    source = padding * (CACHED_SOURCE_MAX // len(padding) + 1) + "def grade(s, i):\n    return 0.5\n"
    assert grade(source, {}, {}, LIMITS).value == 0.5


def _server_children() -> list[int]:
    server = get_pool().server_pid
    children = []
    for task in os.listdir(f"/proc/{server}/task"):
        with open(f"/proc/{server}/task/{task}/children") as handle:
            children += [int(pid) for pid in handle.read().split()]
    return children


def _maps(pid: int) -> str:
    with open(f"/proc/{pid}/maps") as handle:
        return handle.read()


@pytest.mark.parametrize("which", ["lean", "all"])
def test_a_zygote_restarted_after_a_kill_holds_nothing_of_earlier_requests(which: str) -> None:
    # Requests whose items hold a marker pass through the fork server. Then zygotes are killed
    # from outside: the lean ones (a replacement is cloned from the warm zygote) or all of them
    # (the fork server exits and the host starts a fresh one). A replacement must never come
    # from the old server's memory, where the items' bytes may linger.
    first, second = "MK4TQ9", "ZR7WLC"
    echo = "def grade(s, i):\n    return float(len(i['m']))\n"
    for _ in range(20):
        assert grade(echo, {}, {"m": first + second}, LIMITS).value == 12.0
    children = _server_children()
    victims = children if which == "all" else [pid for pid in children if "numpy" not in _maps(pid)]
    assert victims, children
    for pid in victims:
        os.kill(pid, 9)
    limits = PythonLimits(timeout=20, memory_mb=1024, cpu_seconds=10)
    deadline = time.monotonic() + 20
    while True:  # grades right after the kill may meet the dying zygotes or server: server errors
        result = grade(_scan_source(first, second), {}, {}, limits)
        if result.kind == "value" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert result.kind == "value" and result.value == 0.0, result
