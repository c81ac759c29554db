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


def test_eval_missing_root_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match='nope'):
        main(['eval', '--dataset', 'mvtec_ad', '--data-root', str(tmp_path / 'nope'), '--device', 'cpu'])


def test_eval_unknown_method(toy):
    with pytest.raises(KeyError, match='Unknown method'):
        main(['eval', '--method', 'nosuch', '--dataset', 'folder', '--data-root', str(toy), '--device', 'cpu', '--out-dir', ''])


def test_console_script_help():
    exe = Path(sys.executable).with_name('iadnb')
    out = subprocess.run([str(exe), '--help'], capture_output=True, text=True)
    assert out.returncode == 0 and 'eval' in out.stdout and 'synthloco' in out.stdout


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
