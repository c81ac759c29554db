"`nbs/eval.ipynb` run the way users run it: papermill, parameters, headless."
import json, os, subprocess, sys
from pathlib import Path
import pytest
from iadnb.data import find_data

REPO = Path(__file__).resolve().parents[1]
NB = REPO / 'nbs' / 'eval.ipynb'


def _papermill(out_nb: Path, cwd: Path, env_extra=None, **params):
    args = [sys.executable, '-m', 'papermill', str(NB), str(out_nb), '--cwd', str(cwd), '-k', 'python3']
    for k, v in params.items(): args += ['-p', k, str(v)]
    env = {**os.environ, 'IADNB_PROGRESS': '0', 'MPLBACKEND': 'Agg', 'HF_HUB_OFFLINE': '1', **(env_extra or {})}
    r = subprocess.run(args, capture_output=True, text=True, env=env, timeout=1500)
    assert r.returncode == 0, r.stderr[-4000:]
    nb = json.loads(out_nb.read_text())
    return '\n'.join(o.get('text', '') if isinstance(o.get('text', ''), str) else ''.join(o['text'])
                     for c in nb['cells'] if c['cell_type'] == 'code' for o in c.get('outputs', []) if 'text' in o)


def test_eval_notebook_default_data_synthloco(tmp_path):
    "No data argument: SynthLOCO is generated (here into a temp folder, not the project's data/) and T1 printed."
    out = _papermill(tmp_path / 'out.ipynb', tmp_path, env_extra={'IADNB_SYNTHLOCO': str(tmp_path / 'data' / 'synthloco')},
                     method='patchcore', preset='fast', synthloco_preset='tiny', out_dir=str(tmp_path / 'res'))
    assert 'published patchcore' in out and 'LA' in out and 'SA' in out
    assert (tmp_path / 'data' / 'synthloco_tiny' / 'manifest.json').is_file()
    res = json.loads((tmp_path / 'res' / 'results.json').read_text())
    assert len(res['results']) == 5 and all('auroc_logical_anomalies' in r for r in res['results'])
    assert (tmp_path / 'res' / 'roc_hist.png').exists() and (tmp_path / 'res' / 'maps.png').exists()


@pytest.mark.skipif(find_data('mvtec_ad_256') is None, reason='shared MVTec AD subset not on this machine')
def test_eval_notebook_mvtec_ad_transistor(tmp_path):
    "The real-data command of the README, on one category with the fast preset."
    root = find_data('mvtec_ad_256')
    out = _papermill(tmp_path / 'out.ipynb', tmp_path, method='patchcore', dataset='mvtec_ad', data_root=str(root),
                     categories='transistor', preset='fast', out_dir=str(tmp_path / 'res'))
    assert 'image paper' in out and 'transistor' in out
    row = json.loads((tmp_path / 'res' / 'results.json').read_text())['results'][0]
    # PatchCore with the default EfficientNet-Lite0 backbone detects transistor defects almost perfectly
    assert row['image_auroc'] > 0.97 and row['pixel_auroc'] > 0.95 and 0 < row['pixel_aupro'] <= 1
