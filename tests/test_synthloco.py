"Fast checks of the SynthLOCO generator (tiny preset): determinism, layout basics and the CLI function."
import hashlib, json, sys
from pathlib import Path
import numpy as np
from PIL import Image
import pytest
from iadnb.synthloco import CATEGORIES, PRESETS, generate, render, ensure_synthloco, synthloco_cli, defects_config

FEW = dict(n_train=3, n_validation=1, n_good=2, n_logical=2, n_structural=2)

def tree_hash(root: Path, skip=lambda root, f: False) -> str:
    "SHA-256 over the relative paths and bytes of the files under `root`, but those `skip(root, f)` is true of."
    h = hashlib.sha256()
    for f in sorted(p for p in Path(root).rglob('*') if p.is_file() and not skip(root, p)):
        h.update(str(f.relative_to(root)).encode()); h.update(f.read_bytes())
    return h.hexdigest()

# The prefix of the default set: the first 3 images of every split and type of every category (256 px, seed 0).
# Each image depends only on (seed, category, split, index), so this pins the start of the default set in two parts.
# - Labels (ground-truth masks, part maps, meta and config files) byte for byte: the SHA-256 of `tree_hash` over
#   every file but the photographs and manifest.json.
# - Photographs (train / validation / test PNGs) by their 32x32-pixel block means, stored in PREFIX_BLOCKS (in 1/64
#   grey levels), within BLOCK_TOL grey levels. Not bytes: OpenCV releases round a few anti-aliased pixels
#   differently (4.14 against 5.0: 0.7 % of the pixels by one level, block means by up to 0.063; 5.0 against 5.1:
#   one or two pixels an image, 0.001), while shifting an image by one pixel moves some block mean by 5 to 7 levels.
# A deliberate change bumps GENERATOR_VERSION (written into every meta file, so the label hash changes too) and
# rewrites both with `python tests/test_synthloco.py --update`.
PREFIX_LABELS_SHA256 = 'd883f672d0cf4739f25ec01a4ce8c008b7357846f176f15ed8333133f073e8e3'
PREFIX_BLOCKS = Path(__file__).parent / 'data' / 'synthloco_prefix_blocks.npz'
BLOCK_TOL, BLOCK = 0.25, 32

def is_photo(root: Path, f: Path) -> bool: return f.suffix == '.png' and f.relative_to(root).parts[1] in ('train', 'validation', 'test')

def labels_hash(root: Path) -> str: return tree_hash(root, skip=is_photo)

def block_means(f: Path) -> np.ndarray:
    x = np.asarray(Image.open(f).convert('RGB'), np.float64); h, w, c = x.shape
    return x.reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK, c).mean((1, 3))

def photo_blocks(root: Path) -> dict:
    return {str(f.relative_to(root)): block_means(f) for f in sorted(Path(root).rglob('*.png')) if is_photo(root, f)}

def prefix(out: Path) -> Path:
    return generate(out, size=256, seed=0, progress=False, **{k: 3 for k in PRESETS['default']})

def test_default_prefix(tmp_path):
    root = prefix(tmp_path / 'p')
    assert not (root / 'manifest.json').exists()
    assert len([p for p in root.rglob('*') if p.is_file()]) == 265
    assert labels_hash(root) == PREFIX_LABELS_SHA256
    ref = np.load(PREFIX_BLOCKS); got = photo_blocks(root)
    assert sorted(got) == sorted(ref['names'])
    for name, stored in zip(ref['names'], ref['blocks']):
        diff = np.abs(got[name] - stored / 64).max()
        assert diff <= BLOCK_TOL, f'{name}: a 32x32 block mean moved by {diff:.3f} grey levels (tolerance {BLOCK_TOL})'

def test_prefix_check_sees_a_one_pixel_shift(tmp_path):
    # the tolerance is far below what a real change does: one image shifted by one pixel fails it
    f = prefix(tmp_path / 'p') / 'pushpins' / 'test' / 'logical_anomalies' / '000.png'
    shifted = tmp_path / 'shifted.png'; Image.fromarray(np.roll(np.asarray(Image.open(f)), 1, axis=1)).save(shifted)
    assert np.abs(block_means(shifted) - block_means(f)).max() > 10 * BLOCK_TOL

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

# --- complete or absent: an interrupted run never leaves a partial category that a later run takes as finished ---
import os, subprocess, sys, warnings
import iadnb.synthloco.writer as writer

SMALL = dict(preset='tiny', size=64, n_jobs=1, **FEW)   # 10 images per category

def interrupt_at(monkeypatch, n):
    "Make the renderer raise KeyboardInterrupt at its `n`-th call, as Ctrl-C half-way through a run would."
    real, calls = writer.render, [0]
    def render(*a, **k):
        calls[0] += 1
        if calls[0] == n: raise KeyboardInterrupt
        return real(*a, **k)
    monkeypatch.setattr(writer, 'render', render)

def cli(out, *flags):
    return synthloco_cli(['--out', str(out), '--preset', 'tiny', '--size', '64', '--categories', 'pushpins', '--jobs', '1',
                          *[f'--{k.replace("_", "-")}={v}' for k, v in FEW.items()], *flags])

def test_forced_cli_run_interrupted_then_plain_rerun(tmp_path, monkeypatch, capsys):
    # the finding: `iadnb synthloco --force` interrupted, then a plain rerun said 'ready' over a partial category
    ref = generate(tmp_path / 'ref', 'pushpins', progress=False, **SMALL)
    out = tmp_path / 'sl'
    assert cli(out) == 0
    old = tree_hash(out / 'pushpins')
    with monkeypatch.context() as m:
        interrupt_at(m, 4)
        with pytest.raises((KeyboardInterrupt, SystemExit)) as e: cli(out, '--force')
    assert e.type is KeyboardInterrupt or e.value.code == 130   # the CLI may report Ctrl-C as exit status 130
    assert sorted(p.name for p in out.iterdir()) == ['pushpins']   # no manifest, no temporary folder
    assert tree_hash(out / 'pushpins') == old                      # the old folder is untouched until the new one is whole
    capsys.readouterr()
    assert cli(out) == 0                                           # plain rerun: regenerates, since nothing vouches for it
    said = capsys.readouterr().out
    assert 'SynthLOCO pushpins: 10 images (64 px)' in said and 'SynthLOCO ready' in said
    assert json.loads((out / 'manifest.json').read_text())['categories'] == ['pushpins']
    assert tree_hash(out / 'pushpins') == tree_hash(ref / 'pushpins')
    assert cli(out) == 0 and 'SynthLOCO pushpins:' not in capsys.readouterr().out   # now cached

def test_interrupted_run_keeps_finished_categories(tmp_path, monkeypatch):
    ref = generate(tmp_path / 'ref', ['splicing_connectors', 'juice_bottle'], progress=False, **SMALL)
    root = tmp_path / 'sl'; kw = dict(categories=['splicing_connectors', 'juice_bottle'], progress=False, **SMALL)
    with monkeypatch.context() as m:
        interrupt_at(m, 15)   # the 5th image of the second category
        with pytest.raises(KeyboardInterrupt): ensure_synthloco(root, **kw)
    assert sorted(p.name for p in root.iterdir()) == ['manifest.json', 'splicing_connectors']
    assert json.loads((root / 'manifest.json').read_text())['categories'] == ['splicing_connectors']
    f = root / 'splicing_connectors' / 'train' / 'good' / '000.png'; stamp = f.stat().st_mtime_ns
    ensure_synthloco(root, **kw)
    assert f.stat().st_mtime_ns == stamp                           # the finished category is kept
    assert json.loads((root / 'manifest.json').read_text())['categories'] == ['juice_bottle', 'splicing_connectors']
    assert tree_hash(root / 'juice_bottle') == tree_hash(ref / 'juice_bottle')

def test_generate_interrupted_leaves_old_folder(tmp_path, monkeypatch):
    root = generate(tmp_path, 'pushpins', progress=False, **SMALL); old = tree_hash(root / 'pushpins')
    with monkeypatch.context() as m:
        interrupt_at(m, 3)
        with pytest.raises(KeyboardInterrupt): generate(tmp_path, 'pushpins', seed=1, progress=False, **SMALL)
    assert sorted(p.name for p in root.iterdir()) == ['pushpins'] and tree_hash(root / 'pushpins') == old

def test_partial_category_in_manifest_is_regenerated(tmp_path):
    # a manifest written before complete-or-absent (no file counts) listing a category whose run was cut short
    kw = dict(categories='pushpins', progress=False, **SMALL)
    ref = generate(tmp_path / 'ref', 'pushpins', progress=False, **SMALL)
    root = ensure_synthloco(tmp_path / 'sl', **kw)
    m = json.loads((root / 'manifest.json').read_text()); m.pop('files', None)
    (root / 'manifest.json').write_text(json.dumps(m))
    for f in (root / 'pushpins').rglob('*'):                       # the last image lost its meta file (written last)
        if 'structural_anomalies' in f.parts and '001' in f.name and f.is_file() and f.suffix == '.json': f.unlink()
    with pytest.warns(UserWarning, match=r"SynthLOCO pushpins .* incomplete \(meta/test/structural_anomalies holds 1 \.json files, expected 2\): regenerating it"):
        ensure_synthloco(root, **kw)
    assert tree_hash(root / 'pushpins') == tree_hash(ref / 'pushpins')
    assert json.loads((root / 'manifest.json').read_text())['files'] == {'pushpins': sum(1 for p in (root / 'pushpins').rglob('*') if p.is_file())}
    (root / 'pushpins' / 'ground_truth' / 'logical_anomalies' / '000' / '000.png').unlink()   # a file the counts per folder miss
    with pytest.warns(UserWarning, match=r"pushpins .* incomplete \(it holds \d+ files, \d+ when written\)"):
        ensure_synthloco(root, **kw)
    assert tree_hash(root / 'pushpins') == tree_hash(ref / 'pushpins')

def test_leftover_temporaries_are_removed(tmp_path):
    kw = dict(categories='pushpins', progress=False, **SMALL)
    root = ensure_synthloco(tmp_path, **kw)
    dead = root / '.pushpins.999999999.deadbeef.tmp'; (dead / 'train').mkdir(parents=True)     # a killed run's folder
    (root / '.manifest.json.999999999.0badf00d.tmp').write_text('{')
    live = root / f'.juice_bottle.{os.getpid()}.12345678.tmp'; live.mkdir()                   # one still being written
    with pytest.warns(UserWarning, match=r"removed \.manifest\.json\.999999999\.0badf00d\.tmp, \.pushpins\.999999999\.deadbeef\.tmp"):
        ensure_synthloco(root, **kw)
    assert sorted(p.name for p in root.iterdir()) == sorted([live.name, 'manifest.json', 'pushpins'])

def test_workers_do_not_import_torch(tmp_path):
    # generator workers import only the writer and run `_job`: no torch (slow to import, and memory in every worker)
    code = ("import sys; import iadnb.synthloco.writer as w; "
            f"w._job(({str(tmp_path)!r}, 'pushpins', 'test', 'logical_anomalies', 0, 1, 0, 64)); "
            "assert 'torch' not in sys.modules, 'torch imported'; print('ok')")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == 'ok', r.stderr
    assert (tmp_path / 'meta' / 'test' / 'logical_anomalies' / '000.json').is_file()

if __name__ == '__main__' and sys.argv[1:] == ['--update']:   # after a deliberate generator change only
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        root = prefix(Path(d) / 'p'); blocks = photo_blocks(root)
        PREFIX_BLOCKS.parent.mkdir(exist_ok=True)
        np.savez_compressed(PREFIX_BLOCKS, names=np.array(sorted(blocks)),
                            blocks=np.stack([np.round(blocks[k] * 64).astype(np.uint16) for k in sorted(blocks)]))
        print(f"PREFIX_LABELS_SHA256 = '{labels_hash(root)}'; wrote {PREFIX_BLOCKS}")
