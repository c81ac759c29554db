# EfficientAD-S / PUAD-S at the fast preset with the distillation target itself as the teacher (an experiment, not in
# the library): the frozen EfficientNet-Lite0 stages the PDN teacher is distilled from (blocks.2 / 4 / 6 at 512 px, the
# 64 x 64 grid, channel-pooled to 384), cropped to the unpadded student's 56 x 56 grid. No distillation; on a CPU this
# teacher is also cheaper to run than a PDN-S. Reports, like efficientad_branches.py, each map alone, both maps, the
# `min_skill` rule and the networks' validation skill.
# Usage: efficientad_backbone_teacher.py [DATASET:]CATEGORY STEPS THREADS OUT.json [LR]
import sys, json, time, torch, torch.nn as nn, torch.nn.functional as F
from fastcore.basics import patch
from iadnb.core import build_method
from iadnb.data import find_data, load_category, decode_uint8, AnomalyDataset, IMAGENET_MEAN, IMAGENET_STD
from iadnb.evaluate import evaluate_category, resolve_data_root
from iadnb.metrics import auroc
from iadnb.pdn import TeacherTarget, TeacherConfig
from iadnb.methods.efficientad import EfficientAD, raw_maps_of
name, steps, threads, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
lr = float(sys.argv[5]) if len(sys.argv) > 5 else 1e-4
dataset, cat = name.split(':') if ':' in name else ('mvtec_ad', name)
torch.set_num_threads(threads)

class BackboneTeacher(nn.Module):
    "The distillation target as the teacher: Lite0 stages at 512 px, 64 x 64 grid, pooled to 384, cropped to the unpadded PDN grid."
    def __init__(self):
        super().__init__()
        self.target = TeacherTarget(TeacherConfig(), 'cpu')
        self.register_buffer('m', torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)); self.register_buffer('s', torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
    def forward(self, x):
        x01 = F.interpolate(x.float() * self.s + self.m, size=512, mode='bilinear', align_corners=False).clamp(0, 1)
        return self.target(x01)[:, :, 4:60, 4:60]

@patch
def load_teacher(self:EfficientAD, graph):
    graph.teacher = BackboneTeacher(); self.teacher_info = {'backbone_teacher': True, 'history': [0.] * 20}

root = find_data('mvtec_ad_256') if dataset == 'mvtec_ad' else resolve_data_root(dataset, None)
data = load_category(dataset, root, cat)
m = build_method('puad', preset='fast', steps=steps, lr=lr, min_skill=None, device='cpu')
t = time.time(); r = evaluate_category(m, data); wall = time.time() - t
def aurocs(r):
    b = r.extras['bank_scores']; a = {k: 100 * auroc(r.labels, b[k]) for k in ('efficientad', 'puad')}
    if dataset == 'synthloco': a |= {k: 100 * v for k, v in r.loco_aurocs().items()} | {'puad_loco': {k: 100 * v for k, v in r.loco_aurocs(b['puad']).items()}}
    return a | {k: 100 * v for k, v in r.metrics.items() if k.startswith('auroc_') or k == 'pixel_auroc'}
both = aurocs(r); g = m.graph
print('both maps', both, r.timings, flush=True)
tr, va = m._split(AnomalyDataset(data.train, m.transform), AnomalyDataset(data.validation, m.transform) if data.validation else None)
mst, mae, _ = raw_maps_of(g, decode_uint8(data.test, 256, 'test'))
st_only, ae_only = (g.upsample(v).flatten(1).amax(1).numpy() for v in (mst, mae))
m.hparams['min_skill'] = 0.1
m.fit_head(g, tr, va)
rule = aurocs(evaluate_category(m, data, fit=False))
h = m.history; last = {k: sum(d[k] for d in h[-50:]) / len(h[-50:]) for k in h[0]}
row = dict(dataset=dataset, category=cat, lr=lr, steps=steps, threads=threads, skill=m.map_skill, keep_maps=g.keep_maps.tolist(), train_last50=last,
           both_maps=both, with_rule=rule, st_only=100 * auroc(r.labels, st_only), ae_only=100 * auroc(r.labels, ae_only),
           train_s=m.timings['train_s'], fit_s=r.timings['fit_s'], wall=wall)
print(json.dumps(row, indent=1)); json.dump(row, open(out, 'w'), indent=1)
