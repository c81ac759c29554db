"Fast checks of the SynthLOCO generator (tiny preset): determinism, layout basics and the CLI function."
import hashlib, json
from pathlib import Path
import numpy as np
import pytest
from iadnb.synthloco import CATEGORIES, PRESETS, generate, render, ensure_synthloco, synthloco_cli, defects_config

FEW = dict(n_train=3, n_validation=1, n_good=2, n_logical=2, n_structural=2)

def tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in Path(root).rglob('*') if p.is_file()):
        h.update(str(f.relative_to(root)).encode()); h.update(f.read_bytes())
    return h.hexdigest()

# SHA-256 over the first 3 images of every split and type of every category (256 px, seed 0), every file but
# manifest.json, as `tree_hash` reads them. Each image depends only on (seed, category, split, index), so this is a
# prefix of the default set: any changed byte fails this test. A deliberate change bumps GENERATOR_VERSION (written
# into every meta file, so that too changes the hash) and updates this constant.
PREFIX_SHA256 = '0932cba198f363bde4740d7c0dd60b3abd61acb38007c91effd357551818bf75'

def test_default_prefix_bytes(tmp_path):
    root = generate(tmp_path / 'p', size=256, seed=0, progress=False, **{k: 3 for k in PRESETS['default']})
    assert not (root / 'manifest.json').exists()
    assert len([p for p in root.rglob('*') if p.is_file()]) == 265
    assert tree_hash(root) == PREFIX_SHA256

def test_same_seed_same_bytes(tmp_path):
    a = generate(tmp_path / 'a', ['breakfast_box', 'splicing_connectors'], preset='tiny', progress=False, **FEW)
    b = generate(tmp_path / 'b', ['breakfast_box', 'splicing_connectors'], preset='tiny', progress=False, **FEW)
    assert tree_hash(a) == tree_hash(b)
    c = generate(tmp_path / 'c', ['breakfast_box', 'splicing_connectors'], preset='tiny', seed=1, progress=False, **FEW)
    assert tree_hash(a) != tree_hash(c)

def test_order_does_not_matter(tmp_path):
    # an image depends on (seed, category, split, index) only: generating fewer images gives a prefix of the same files
    big = generate(tmp_path / 'big', ['juice_bottle'], preset='tiny', progress=False, **FEW)
    small = generate(tmp_path / 'small', ['juice_bottle'], preset='tiny', progress=False, n_train=1, n_validation=0,
                     n_good=0, n_logical=0, n_structural=0)
    f = 'juice_bottle/train/good/000.png'
    assert (big / f).read_bytes() == (small / f).read_bytes()

@pytest.mark.parametrize('category', CATEGORIES)
def test_render_rules(category):
    r = render(category, 'test', 'logical_anomalies', 0)
    assert r['img'].shape == (256, 256, 3) and r['img'].dtype == np.uint8 and r['lab'].shape == (256, 256)
    assert r['masks'] and all(m.any() for _, m in r['masks'])
    assert r['meta']['anomaly']['kind'] == 'logical'
    assert all((r['lab'] == p['class_id']).any() for p in r['meta']['parts'])
    g = render(category, 'train', 'good', 0)
    assert g['masks'] == [] and g['meta']['anomaly'] is None

def test_layout_and_config(tmp_path):
    root = generate(tmp_path, ['pushpins'], preset='tiny', progress=False, **FEW)
    d = root / 'pushpins'
    cfg = json.loads((d / 'defects_config.json').read_text())
    assert cfg == defects_config('pushpins')
    values = {e['pixel_value'] for e in cfg}
    for t in ('logical_anomalies', 'structural_anomalies'):
        imgs = sorted((d / 'test' / t).glob('*.png')); assert len(imgs) == 2
        for f in imgs:
            masks = sorted((d / 'ground_truth' / t / f.stem).glob('*.png')); assert masks
            from PIL import Image
            for m in masks: assert set(np.unique(np.asarray(Image.open(m)))) - {0} <= values

def test_cli(tmp_path, capsys):
    out = tmp_path / 'sl'
    assert synthloco_cli(['--out', str(out), '--preset', 'tiny', '--categories', 'screw_bag', '--quiet',
                          '--n-train', '2', '--n-validation', '1', '--n-good', '1', '--n-logical', '1', '--n-structural', '1']) == 0
    assert len(list((out / 'screw_bag' / 'train' / 'good').glob('*.png'))) == 2
    assert json.loads((out / 'manifest.json').read_text())['config']['size'] == 256
    assert 'SynthLOCO ready' in capsys.readouterr().out
    with pytest.raises(SystemExit): synthloco_cli(['--out', str(out), '--size', '10'])
    with pytest.raises(SystemExit): synthloco_cli(['--out', str(out), '--categories', 'cookies'])

def test_ensure_is_cached(tmp_path):
    kw = dict(preset='tiny', categories='pushpins', progress=False, n_train=1, n_validation=1, n_good=1, n_logical=1, n_structural=1)
    root = ensure_synthloco(tmp_path, **kw)
    f = root / 'pushpins' / 'train' / 'good' / '000.png'; stamp = f.stat().st_mtime_ns
    ensure_synthloco(tmp_path, **kw)
    assert f.stat().st_mtime_ns == stamp
    ensure_synthloco(tmp_path, **{**kw, 'size': 128})
    from PIL import Image
    assert Image.open(f).size == (128, 128)
