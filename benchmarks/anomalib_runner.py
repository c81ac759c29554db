"""One anomalib 2.7 fit + predict, run inside anomalib's own virtual environment by `anomalib_side_by_side.py`.

Reads a JSON configuration (argv[1]) and prints one JSON row. It does not import iadnb: the weights arrive as a
timm state dict written by the iadnb side, so both libraries run the same backbone with the same weights. anomalib's
torch models are used directly (no Lightning engine, no data module, no workers): this times what anomalib computes,
without its framework overhead, which favours anomalib.
"""
import json, resource, sys, time
from pathlib import Path
import numpy as np
import torch
from PIL import Image
from sklearn.metrics import roc_auc_score

EXTS = ('.png', '.jpg', '.jpeg', '.bmp')


def _images(folder: Path) -> list:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in EXTS)


def _tensor(paths, size, mean, std) -> torch.Tensor:
    x = np.stack([np.asarray(Image.open(p).convert('RGB').resize((size, size), Image.BILINEAR), np.float32) / 255 for p in paths])
    x = (torch.from_numpy(x).permute(0, 3, 1, 2) - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None]
    return x.contiguous()


def _mask(img: Path, root: Path, size: int) -> np.ndarray:
    kind = img.parent.name
    if kind == 'good': return np.zeros((size, size), bool)
    m = root / 'ground_truth' / kind / f'{img.stem}_mask.png'
    return np.asarray(Image.open(m).convert('L').resize((size, size), Image.NEAREST)) > 0


def main(cfg: dict) -> dict:
    torch.manual_seed(cfg['seed'])   # (no torch.set_num_threads here: calling it made MKL's batched inverse in PaDiM's fit fail)
    from anomalib.models.image.patchcore.torch_model import PatchcoreModel
    from anomalib.models.image.padim.torch_model import PadimModel
    root = Path(cfg['data_root']) / cfg['category']
    size, bs, layers = cfg['image_size'], cfg['batch_size'], cfg['layers']
    if cfg['method'] == 'patchcore':
        model = PatchcoreModel(layers=layers, backbone=cfg['backbone'], pre_trained=False, num_neighbors=9)
    else:
        model = PadimModel(backbone=cfg['backbone'], layers=layers, pre_trained=False, n_features=cfg['n_features'])
    fx = model.feature_extractor.feature_extractor
    missing, unexpected = fx.load_state_dict(torch.load(cfg['weights'], map_location='cpu'), strict=False)
    if missing: raise RuntimeError(f'anomalib feature extractor: {len(missing)} weights missing, e.g. {missing[:3]}')
    train = _images(root / 'train' / 'good')
    test = [p for d in sorted((root / 'test').iterdir()) for p in _images(d)]
    # fit
    t0 = time.perf_counter()
    model.train()
    with torch.no_grad():
        for i in range(0, len(train), bs): model(_tensor(train[i:i + bs], size, cfg['mean'], cfg['std']))
    if cfg['method'] == 'patchcore':
        bank = torch.vstack(model.embedding_store); model.embedding_store.clear()
        n = int(len(bank) * cfg['coreset_ratio'])
        if cfg['coreset'] == 'greedy':              # anomalib's KCenterGreedy (about 40 minutes per category here)
            model.embedding_store.append(bank); model.subsample_embedding(cfg['coreset_ratio'])
        else:                                       # a random bank of the same size: times prediction only
            model.memory_bank = bank[torch.randperm(len(bank))[:n]].contiguous()
    else:
        model.fit()
    fit_s = time.perf_counter() - t0
    # predict (decoding included, as on the iadnb side)
    model.eval()
    runs = []
    for _ in range(cfg.get('predict_repeats', 1)):   # the median of several passes, as on the iadnb side
        scores, maps = [], []
        t1 = time.perf_counter()
        with torch.no_grad():
            for i in range(0, len(test), bs):
                out = model(_tensor(test[i:i + bs], size, cfg['mean'], cfg['std']))
                scores.append(out.pred_score.reshape(-1)); maps.append(out.anomaly_map.reshape(len(out.pred_score), size, size))
        runs.append(len(test) / (time.perf_counter() - t1))
    scores, maps = torch.cat(scores).numpy(), torch.cat(maps).numpy()
    labels = np.array([p.parent.name != 'good' for p in test])
    masks = np.stack([_mask(p, root, size) for p in test])
    return dict(library='anomalib 2.7.0', method=cfg['method'], category=cfg['category'], coreset=cfg.get('coreset'),
                bank_rows=int(len(model.memory_bank)) if cfg['method'] == 'patchcore' else None,
                image_auroc=float(roc_auc_score(labels, scores)), pixel_auroc=float(roc_auc_score(masks.reshape(-1), maps.reshape(-1))),
                fit_s=fit_s, predict_img_s=float(np.median(runs)), predict_img_s_runs=runs,
                peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, threads=torch.get_num_threads())


if __name__ == '__main__':
    print(json.dumps(main(json.loads(sys.argv[1]))))
