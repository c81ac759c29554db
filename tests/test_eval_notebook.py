"`nbs/eval.ipynb` run the way users run it: papermill, parameters, headless."
import json, os, subprocess, sys
from pathlib import Path
import pytest
from iadnb.data import find_data

REPO = Path(__file__).resolve().parents[1]
NB = REPO / 'nbs' / 'eval.ipynb'


def _papermill(out_nb: Path, cwd: Path, env_extra=None, nb=NB, expect_error=None, **params):
    args = [sys.executable, '-m', 'papermill', str(nb), str(out_nb), '--cwd', str(cwd), '-k', 'python3']
    for k, v in params.items(): args += ['-p', k, str(v)]
    env = {**os.environ, 'IADNB_PROGRESS': '0', 'MPLBACKEND': 'Agg', 'HF_HUB_OFFLINE': '1', **(env_extra or {})}
    r = subprocess.run(args, capture_output=True, text=True, env=env, timeout=1500)
    if expect_error is not None:
        assert r.returncode != 0 and expect_error in r.stderr, r.stderr[-4000:]
        return r.stderr
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


# a PSAD budget small enough for CI: the fast preset's code path with a few steps of training
TINY_PSAD = json.dumps({'stage1_epochs': 2, 'aug_copies': 2, 'n_shot': 3, 'image_size': 128,
                        'patch_image_size': 128})


def test_eval_notebook_psad(tmp_path):
    "`-p method psad`: T1 with the published PSAD and PatchCore columns and PSAD's banks alone (patch = PatchCore), figures, T3."
    env = {'IADNB_SYNTHLOCO': str(tmp_path / 'data' / 'synthloco')}
    out = _papermill(tmp_path / 'out.ipynb', tmp_path, env_extra=env, method='psad', synthloco_preset='tiny',
                     categories='juice_bottle,pushpins', hparams=TINY_PSAD, device='cpu', out_dir=str(tmp_path / 'res'))
    for s in ('published psad', 'published patchcore', 'ours: patch alone', 'ours: hist alone', 'part mIoU', 'preset fast'):
        assert s in out, s
    res = json.loads((tmp_path / 'res' / 'results.json').read_text())
    assert res['config']['preset'] == 'fast' and [r['category'] for r in res['results']] == ['juice_bottle', 'pushpins']
    assert (tmp_path / 'res' / 'parts_pushpins.png').exists() and (tmp_path / 'res' / 'banks_juice_bottle.png').exists()


@pytest.mark.parametrize('table', ['T2', 'T3', 'T4'])
def test_psad_tables_notebook(tmp_path, table):
    "Each PSAD ablation table is one papermill call; rows in the paper's order beside its numbers."
    env = {'IADNB_SYNTHLOCO': str(tmp_path / 'data' / 'synthloco')}
    _papermill(tmp_path / 'out.ipynb', tmp_path, env_extra=env, nb=REPO / 'nbs' / 'psad_tables.ipynb', table=table,
               synthloco_preset='tiny', categories='screw_bag', hparams=TINY_PSAD, device='cpu', out_dir=str(tmp_path / 'tab'))
    import pandas as pd
    df = pd.read_csv(tmp_path / 'tab' / table / f'psad_{table}.csv')
    if table == 'T2':
        assert list(df['stage-1 losses']) == ['sup', 'sup+ent', 'sup+ent+hist'] and df['part mIoU (test)'].between(0, 100).all()
    elif table == 'T3':
        assert {'hist', 'comp', 'patch', 'hist+comp+patch'} <= set(df['banks']) and set(df['scaling']) == {'none', 'std', 'max'}
        assert set(df['combine']) == {'sum', 'max'}
        assert df.loc[(df['banks'] == 'hist+comp+patch') & (df['scaling'] == 'max') & (df['combine'] == 'sum'), 'paper LA'].item() == 98.1
    else:
        assert list(df['paper mean']) == [97.4, 97.1, 96.6, 96.2] and df['n_train'].is_monotonic_decreasing
    assert ((df[['LA', 'SA']] >= 0) & (df[['LA', 'SA']] <= 100)).all().all()


def test_efficientad_tables_notebook(tmp_path):
    "T6 by one papermill call (tiny preset): EfficientAD and PUAD columns from one fit per category, published columns, figures."
    from iadnb.data import make_toy_dataset
    pool = make_toy_dataset(tmp_path / 'pool', 'mvtec_ad', n_train=6, n_good=1, n_bad=1, size=256)
    env = {'IADNB_SYNTHLOCO': str(tmp_path / 'data' / 'synthloco'), 'IADNB_CACHE': str(tmp_path / 'cache'), 'IADNB_IMAGES': str(pool)}
    out = _papermill(tmp_path / 'out.ipynb', tmp_path, env_extra=env, nb=REPO / 'nbs' / 'efficientad_tables.ipynb', preset='tiny',
                     synthloco_preset='tiny', categories='juice_bottle,pushpins', mvtec_root='', device='cpu', out_dir=str(tmp_path / 'res'))
    for s in ('EfficientAD LA', 'PUAD SA', 'paper PUAD (LOCO)', 'average', 'preset tiny'): assert s in out, s
    t6 = __import__('pandas').read_csv(tmp_path / 'res' / 't6_synthloco.csv')
    assert list(t6['category']) == ['juice_bottle', 'pushpins', 'average'] and t6['paper PUAD (LOCO)'].iloc[-1] == 93.18
    assert (tmp_path / 'res' / 'maps.png').exists() and (tmp_path / 'res' / 'losses.png').exists()


def test_musc_tables_notebook(tmp_path):
    "T7 by one papermill call: seven metrics per category (a toy MVTec-layout category and two tiny SynthLOCO ones), published rows, figures."
    from iadnb.data import make_toy_dataset
    mv = make_toy_dataset(tmp_path / 'mv', 'mvtec_ad', n_train=2, n_good=4, n_bad=3, size=64)
    env = {'IADNB_SYNTHLOCO': str(tmp_path / 'data' / 'synthloco')}
    out = _papermill(tmp_path / 'out.ipynb', tmp_path, env_extra=env, nb=REPO / 'nbs' / 'musc_tables.ipynb', preset='fast',
                     synthloco_preset='tiny', categories='juice_bottle,pushpins', mvtec_root=str(mv), mvtec_categories='toy',
                     hparams='{"image_size": 64, "score_border": 8}', device='cpu', out_dir=str(tmp_path / 'res'), speed_csv='')
    for s in ('img AUROC', 'pix F1-max', 'PRO', 'paper (ViT-L-14-336)', 'MVTec AD mean of 15', 'no speed table'): assert s in out, s
    t7 = __import__('pandas').read_csv(tmp_path / 'res' / 't7.csv')
    assert list(t7['category']) == ['toy', 'toy', 'juice_bottle', 'pushpins', 'MVTec AD mean of 15'], list(t7['category'])
    assert t7['img AUROC'].iloc[-1] == 97.8 and t7['LA AUROC'].iloc[2] >= 0
    assert (tmp_path / 'res' / 'maps.png').exists()


def test_csad_tables_notebook(tmp_path):
    "T5 by one papermill call (tiny preset): LA / SA per branch and runtime, the published rows, part mIoU against SynthLOCO's part maps, figure."
    env = {'IADNB_SYNTHLOCO': str(tmp_path / 'data' / 'synthloco'), 'IADNB_CACHE': str(tmp_path / 'cache')}
    out = _papermill(tmp_path / 'out.ipynb', tmp_path, env_extra=env, nb=REPO / 'nbs' / 'csad_tables.ipynb', preset='tiny',
                     synthloco_preset='tiny', categories='pushpins', runtimes='pytorch,onnx', device='cpu', out_dir=str(tmp_path / 'res'),
                     hparams='{"hist_temperature": 0}')       # argmax histograms, as CSAD's (the soft default is exported in test_csad)
    for s in ('patchhist LA', 'onnx max |diff|', 'CSAD README (MVTec LOCO)', 'pseudo labels mIoU', 'preset tiny'): assert s in out, s
    import pandas as pd
    t5 = pd.read_csv(tmp_path / 'res' / 't5.csv')
    assert list(t5['category']) == ['pushpins', 'average'] and round(t5['onnx LA'].iloc[0], 2) == round(t5['pytorch LA'].iloc[0], 2)   # scores can differ where the argmax ties (see benchmarks/README)
    seg = pd.read_csv(tmp_path / 'res' / 't5_segmentation.csv')
    assert 0 <= seg['pseudo labels mIoU'].iloc[0] <= 1 and (tmp_path / 'res' / 'parts_maps.png').exists()
    # refit=False: the saved model is loaded and scored again (a stopped run resumes); the same table, no pseudo labels
    again = dict(env_extra=env, nb=REPO / 'nbs' / 'csad_tables.ipynb', preset='tiny', synthloco_preset='tiny', categories='pushpins',
                 runtimes='pytorch', device='cpu', out_dir=str(tmp_path / 'res'), refit=False)
    out = _papermill(tmp_path / 'again.ipynb', tmp_path, hparams='{"hist_temperature": 0}', **again)
    assert 'pushpins: loaded, fitted earlier' in out
    t5b, segb = pd.read_csv(tmp_path / 'res' / 't5.csv'), pd.read_csv(tmp_path / 'res' / 't5_segmentation.csv')
    assert (t5b[['pytorch LA', 'pytorch SA', 'patchhist LA', 'lgst SA']].values == t5[['pytorch LA', 'pytorch SA', 'patchhist LA', 'lgst SA']].values).all()
    assert segb['pseudo labels mIoU'].isna().all() and segb['segmenter mIoU (validation)'].iloc[0] == seg['segmenter mIoU (validation)'].iloc[0]
    # a saved model fitted with other hyper-parameters is refused, not mixed into the table
    _papermill(tmp_path / 'other.ipynb', tmp_path, expect_error='fitted with other hyper-parameters', hparams='{"hist_temperature": 0.05}', **again)
