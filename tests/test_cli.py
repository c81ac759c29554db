"The `iadnb` command line, from the user's side: eval on a small folder, errors, and the console script."
import json, subprocess, sys
from pathlib import Path
import pandas as pd
import pytest
from iadnb.cli import main
from iadnb.core import DataError
from iadnb.data import make_toy_dataset


@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    return make_toy_dataset(tmp_path_factory.mktemp('toy'), 'folder', n_train=6, n_good=3, n_bad=3, size=64)


def test_eval_writes_results(toy, tmp_path, capsys):
    out = tmp_path / 'run'
    rc = main(['eval', '--method', 'padim', '--dataset', 'folder', '--data-root', str(toy), '--categories', 'toy',
               '--image-size', '64', '--device', 'cpu', '--out-dir', str(out), '--hparams', '{"d_reduced": 40}'])
    assert rc == 0
    printed = capsys.readouterr().out
    assert 'image AUROC' in printed and 'toy' in printed
    df = pd.read_csv(out / 'results.csv')
    assert df.loc[0, 'method'] == 'padim' and 0 <= df.loc[0, 'image_auroc'] <= 1
    assert df.loc[0, 'image_auroc'] > 0.9          # red squares on a grey texture are easy
    cfg = json.loads((out / 'results.json').read_text())['config']
    assert cfg['hparams']['d_reduced'] == 40 and cfg['dataset'] == 'folder'
    assert (out / 'scores_toy.csv').exists()


def _fails(argv, capsys):
    "Run `iadnb ARGV` in-process where it must fail: (exit status, stderr lines)."
    with pytest.raises(SystemExit) as e: main(argv)
    return e.value.code, capsys.readouterr().err.strip().splitlines()


def test_eval_missing_root_is_one_line_and_status_2(tmp_path, capsys):
    nope = tmp_path / 'nope'
    rc, err = _fails(['eval', '--dataset', 'mvtec_ad', '--data-root', str(nope), '--device', 'cpu'], capsys)
    assert rc == 2 and len(err) == 1, err
    assert err[0].startswith('iadnb eval: error: ') and str(nope) in err[0] and 'Traceback' not in err[0]


def test_unknown_method_names_the_available_ones(toy, capsys):
    rc, err = _fails(['eval', '--method', 'nosuch', '--dataset', 'folder', '--data-root', str(toy), '--device', 'cpu', '--out-dir', ''], capsys)
    assert rc == 2 and len(err) == 1 and 'nosuch' in err[0] and all(m in err[0] for m in ('patchcore', 'padim', 'spade', 'psad')), err
    rc, err = _fails(['bench', '--methods', 'padim,nosuch'], capsys)
    assert rc == 2 and len(err) == 1 and "'nosuch'" in err[0] and 'patchcore' in err[0], err


def test_bad_hparams_json_is_status_2(toy, capsys):
    rc, err = _fails(['eval', '--method', 'padim', '--dataset', 'folder', '--data-root', str(toy), '--hparams', '{d_reduced: 40}'], capsys)
    assert rc == 2 and len(err) == 1 and 'JSON' in err[0] and '--hparams' in err[0], err


def test_bad_config_fails_before_any_data_or_fit(toy, capsys, monkeypatch):
    "An unknown preset, hyper-parameter or category is caught before anything is fitted (`evaluate` checks its input first)."
    import iadnb.evaluate as ev
    monkeypatch.setattr(ev, 'evaluate_category', lambda *a, **k: pytest.fail('fitted despite a bad configuration'))
    base = ['eval', '--method', 'padim', '--dataset', 'folder', '--data-root', str(toy), '--device', 'cpu', '--out-dir', '']
    rc, err = _fails(base + ['--preset', 'nope'], capsys)
    assert rc == 2 and len(err) == 1 and "'nope'" in err[0] and 'fast' in err[0], err
    rc, err = _fails(base + ['--hparams', '{"dreduced": 40}'], capsys)
    assert rc == 2 and len(err) == 1 and 'dreduced' in err[0] and 'd_reduced' in err[0], err
    rc, err = _fails(base + ['--categories', 'toy,nosuch'], capsys)
    assert rc == 2 and len(err) == 1 and 'nosuch' in err[0], err


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    "--debug before or after the command, or IADNB_DEBUG=1: the exception itself, traceback and all."
    bad = ['--dataset', 'mvtec_ad', '--data-root', str(tmp_path / 'nope'), '--device', 'cpu']
    with pytest.raises(DataError, match='nope'): main(['--debug', 'eval', *bad])
    with pytest.raises(DataError, match='nope'): main(['eval', *bad, '--debug'])
    monkeypatch.setenv('IADNB_DEBUG', '1')
    with pytest.raises(DataError, match='nope'): main(['eval', *bad])


def test_other_errors_and_interrupts(monkeypatch, capsys):
    "A bug or an out-of-memory: status 1 and the exception's name; Ctrl-C: 'interrupted', status 130."
    import iadnb.cli as cli
    def oom(a): raise RuntimeError('CUDA out of memory.\nTried to allocate 2.00 GiB')
    monkeypatch.setitem(cli.RUNNERS, 'eval', oom)
    rc, err = _fails(['eval'], capsys)
    assert rc == 1 and err == ['iadnb eval: error: RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB '
                               '(rerun with --debug for the traceback)'], err
    def bug(a): return {}['d_reduced']
    monkeypatch.setitem(cli.RUNNERS, 'eval', bug)
    rc, err = _fails(['eval'], capsys)
    assert rc == 1 and err[0].startswith('iadnb eval: error: KeyError: d_reduced'), err
    def ctrl_c(a): raise KeyboardInterrupt
    monkeypatch.setitem(cli.RUNNERS, 'synthloco', ctrl_c)
    assert _fails(['synthloco'], capsys) == (130, ['iadnb synthloco: interrupted'])
    monkeypatch.setitem(cli.RUNNERS, 'eval', oom)
    with pytest.raises(RuntimeError, match='out of memory'): main(['eval', '--debug'])
    with pytest.raises(KeyboardInterrupt): main(['--debug', 'synthloco'])


@pytest.mark.parametrize('cmd', ['eval', 'synthloco', 'bench', 'export'])
def test_help_is_complete(cmd):
    "Every flag has help text with its default; closed sets list their choices; the environment variables are listed."
    from iadnb.cli import parser, ENV_VARS
    p = parser().commands[cmd]
    for act in p._actions:
        if '-h' in act.option_strings or act.help == '==SUPPRESS==': continue
        assert act.help and act.help.strip(), (cmd, act.option_strings)
        if act.dest != 'debug' and not act.required: assert '(default: ' in act.help or '; default: ' in act.help, (cmd, act.option_strings, act.help)
    text = p.format_help()
    for v in ('IADNB_WEIGHTS', 'IADNB_DATA', 'IADNB_PROGRESS', 'IADNB_SYNTHLOCO', 'IADNB_ONLINE', 'IADNB_DEBUG'):
        assert v in ENV_VARS and v in text, (cmd, v)
    assert '--debug' in text and 'exit status 2' in ' '.join(text.split())
    helps = {a.dest: ' '.join(a.help.split()) for a in p._actions if a.help}
    if cmd in ('eval', 'bench'):
        m = 'method' if cmd == 'eval' else 'methods'
        assert 'choices: csad, efficientad, musc, padim, patchcore, psad, puad, spade' in helps[m] and 'choices: btad, folder, mvtec_ad' in helps['dataset']
        assert 'choices: auto, fast, paper' in helps['preset'] and "'cuda:N'" in helps['device']
        assert "default: the method's preset" in helps['backbone']
    elif cmd == 'synthloco':
        assert 'choices: default, tiny' in helps['preset'] and 'screw_bag' in helps['categories']
    else:
        assert helps['model'].endswith('(required)') and 'choices: onnx' in helps['format']


def test_console_script_help():
    exe = Path(sys.executable).with_name('iadnb')
    out = subprocess.run([str(exe), '--help'], capture_output=True, text=True)
    assert out.returncode == 0 and 'eval' in out.stdout and 'synthloco' in out.stdout and 'IADNB_WEIGHTS' in out.stdout


def test_console_script_bad_input(tmp_path):
    "The real process: exit status 2 and one line on stderr, no traceback."
    exe = Path(sys.executable).with_name('iadnb')
    r = subprocess.run([str(exe), 'eval', '--dataset', 'mvtec_ad', '--data-root', str(tmp_path / 'nope'), '--device', 'cpu'],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and 'Traceback' not in r.stderr and str(tmp_path / 'nope') in r.stderr, r.stderr


def test_readme_python_usage_needs_no_extra_import(toy):
    "The README's Python example: build_method by name from iadnb.core alone, fit, predict, metrics, save/load."
    code = f"""
from iadnb.core import build_method, AnomalyModel
from iadnb.data import load_category, AnomalyDataset
from iadnb.metrics import image_metrics
data = load_category('folder', {str(toy)!r}, 'toy')
model = build_method('patchcore', preset='fast', image_size=64, device='cpu')
train, test = AnomalyDataset(data.train, model.transform), AnomalyDataset(data.test, model.transform)
pred = model.fit(train).predict(test)
assert image_metrics(test.labels, pred.scores)['auroc'] > 0.9
print('ok')
"""
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env={**__import__('os').environ, 'IADNB_PROGRESS': '0'})
    assert out.returncode == 0 and out.stdout.strip().endswith('ok'), out.stderr[-2000:]


def test_python_dash_m_runs_the_cli():
    "`python -m iadnb.cli` is the `iadnb` script (it once did nothing at all)."
    r = subprocess.run([sys.executable, '-m', 'iadnb.cli', 'synthloco', '--help'], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and 'usage: iadnb synthloco' in r.stdout, r.stderr


def test_export_writes_onnx_and_checks_it(tmp_path, capsys, monkeypatch):
    "`iadnb export` of a saved PUAD writes .onnx + .json (or OpenVINO .xml + .bin + .json) and prints the runtime's check; PatchCore is refused with the reason."
    import re
    from iadnb.core import build_method
    from iadnb.data import load_category, AnomalyDataset
    monkeypatch.setenv('IADNB_CACHE', str(tmp_path / 'cache'))
    data = load_category('mvtec_ad', make_toy_dataset(tmp_path / 'toy', 'mvtec_ad', n_train=8, n_good=1, n_bad=1, size=256), 'toy')
    pool = make_toy_dataset(tmp_path / 'pool', 'mvtec_ad', n_train=4, n_good=1, n_bad=1, size=256)
    m = build_method('puad', preset='tiny', pool=str(pool), device='cpu')
    m.fit(AnomalyDataset(data.train, m.transform)).save(tmp_path / 'm.pt')
    assert main(['export', '--model', str(tmp_path / 'm.pt')]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / 'm.onnx').is_file() and json.loads((tmp_path / 'm.json').read_text())['method'] == 'puad'
    per_std, map_diff = (float(v) for v in re.search(r'scores differ by at most \S+ \((\S+) of their spread\), maps by at most (\S+)', out).groups())
    assert map_diff < 1e-4 and per_std < 1e-4, out     # in units of the scores' spread: a 4-step PUAD's z-scores run into the thousands
    assert (tmp_path / 'm.onnx').stat().st_size > 10e6 and not list(tmp_path.glob('*.data'))   # the weights inside the one file
    assert main(['export', '--model', str(tmp_path / 'm.pt'), '--format', 'openvino', '--out', str(tmp_path / 'ov' / 'm')]) == 0
    out = capsys.readouterr().out
    assert 'openvino vs PyTorch' in out and (tmp_path / 'ov' / 'm.bin').stat().st_size > 10e6, out
    per_std, map_diff = (float(v) for v in re.search(r'scores differ by at most \S+ \((\S+) of their spread\), maps by at most (\S+)', out).groups())
    assert map_diff < 1e-4 and per_std < 1e-4, out
    assert sorted(p.name for p in (tmp_path / 'ov').iterdir()) == ['m.bin', 'm.json', 'm.xml']   # no temporary left
    pc = build_method('patchcore', image_size=64, device='cpu')
    pc.fit(AnomalyDataset(data.train, pc.transform)).save(tmp_path / 'pc.pt')
    with pytest.raises(SystemExit) as e: main(['export', '--model', str(tmp_path / 'pc.pt')])
    assert e.value.code == 2 and 'patchcore cannot be exported: its nearest-neighbour search' in capsys.readouterr().err
    assert not (tmp_path / 'pc.onnx').exists()
