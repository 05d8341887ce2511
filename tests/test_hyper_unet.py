import pytest
import torch
from segmentation_models_pytorch.base.modules import SCSEModule
from torch import nn

from src.models.hyper_unet import HyperUnet


def hyper_unet(stem="stride1", encoder="resnet18", deep_supervision=False, in_channels=3, upsample="bilinear"):
    return HyperUnet(
        encoder_name=encoder,
        in_channels=in_channels,
        stem=stem,
        filters=8,
        upsample=upsample,
        scse_reduction=4,
        deep_supervision=deep_supervision,
    )


@torch.no_grad()
def feature_sizes(encoder, size=128):
    return [f.shape[-1] for f in encoder.eval()(torch.zeros(1, 3, size, size))]


@pytest.mark.parametrize(
    "stem, sizes",
    [
        ("stride1", [64, 64, 32, 16, 8]),
        ("seed", [64, 64, 32, 16, 8]),  # stride1's name until 2026-12-04: older checkpoints and configs still build
        ("no_pool", [128, 128, 64, 32, 16]),
        ("standard", [64, 32, 16, 8, 4]),
    ],
)
def test_stems_give_feature_sizes_and_full_size_logits(stem, sizes):
    model = hyper_unet(stem).eval()
    assert feature_sizes(model.encoder) == sizes
    assert [128 // s for s in model.encoder.strides] == sizes  # the strides the decoder is laid out from
    with torch.no_grad():
        assert model(torch.randn(2, 3, 128, 128)).shape == (2, 1, 128, 128)


def test_the_2x_stem_on_se_resnext50_default_encoder():
    model = HyperUnet(upsample="transposed")  # its defaults: SE-ResNeXt-50 with the seed's 2x stem
    assert feature_sizes(model.encoder) == [64, 64, 32, 16, 8] and model.decoder[0].convs[0][0].out_channels == 32
    assert model.encoder.stem.conv1.stride == (1, 1) and model.encoder.stem.conv1.kernel_size == (7, 7)


@pytest.mark.parametrize("in_channels, size", [(1, 96), (2, 160), (3, 128)])
def test_any_channel_count_and_size_divisible_by_32(in_channels, size):
    model = hyper_unet(in_channels=in_channels, upsample="transposed").eval()
    with torch.no_grad():
        assert model(torch.randn(1, in_channels, size, size)).shape == (1, 1, size, size)


def test_scse_after_every_encoder_stage_and_decoder_block_and_no_dropout():
    model = hyper_unet()
    assert all(isinstance(m, SCSEModule) for m in model.encoder_scse) and len(model.encoder_scse) == 5
    assert all(isinstance(block.scse, SCSEModule) for block in model.decoder) and len(model.decoder) == 5
    assert not any(isinstance(m, nn.modules.dropout._DropoutNd) for m in model.modules())


def test_hypercolumn_fuses_every_scale():
    model = hyper_unet().eval()
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        base = model(x)
        for block in [model.center] + list(model.decoder):  # perturb each scale's output in turn
            handle = block.register_forward_hook(lambda mod, inp, out: out + 1.0)
            assert not torch.allclose(model(x), base), f"{type(block).__name__} does not reach the logits"
            handle.remove()


def test_one_output_type_and_deep_supervision_through_its_own_method():
    torch.manual_seed(0)
    model = hyper_unet(deep_supervision=True)
    x = torch.randn(2, 3, 128, 128)
    out = model.forward_deep(x)
    assert out.logits.shape == (2, 1, 128, 128) and out.cls.shape == (2, 1)
    assert len(out.aux) == 6 and all(a.shape == (2, 1, 128, 128) for a in out.aux)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), model.forward_deep(x).logits)  # the same logits, in training and eval alike
    with pytest.raises(ValueError, match="deep_supervision=True"):
        hyper_unet().forward_deep(x)


def test_a_few_steps_lower_the_loss_on_a_tiny_batch():
    torch.manual_seed(0)
    model = hyper_unet("standard")
    x = torch.randn(4, 3, 128, 128)
    y = torch.zeros(4, 1, 128, 128)
    y[:, :, 40:90, 30:100] = 1
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(8):
        loss = nn.functional.binary_cross_entropy_with_logits(model(x), y)
        opt.zero_grad(), loss.backward(), opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def save_weights(path, model):
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    else:
        torch.save(model.state_dict(), path)
    return model.state_dict()


@pytest.mark.parametrize(
    "source, filename", [("timm", "resnet18.pth"), ("torchvision", "resnet18.safetensors"), ("smp_unet", "unet.pt")]
)
@pytest.mark.parametrize("stem", ["stride1", "standard"])
def test_encoder_weights_from_a_file_load_before_the_stem_change(tmp_path, source, filename, stem):
    import segmentation_models_pytorch as smp
    import timm
    import torchvision

    torch.manual_seed(1)
    model = {
        "timm": lambda: timm.create_model("resnet18"),
        "torchvision": torchvision.models.resnet18,
        "smp_unet": lambda: smp.Unet("resnet18", encoder_weights=None),
    }[source]()
    saved = save_weights(tmp_path / filename, model)
    net = HyperUnet(encoder_name="resnet18", encoder_weights=str(tmp_path / filename), stem=stem, filters=8)
    conv = net.encoder.stem[0] if stem == "stride1" else net.encoder.encoder.conv1
    expected = saved["encoder.conv1.weight" if source == "smp_unet" else "conv1.weight"]
    assert torch.equal(conv.weight, expected)
    assert conv.stride == ((1, 1) if stem == "stride1" else (2, 2))


def test_encoder_weights_from_a_file_reach_smp_models_and_other_channel_counts(tmp_path):
    import timm

    from src.models.factory import build_network

    saved = save_weights(tmp_path / "r18.pth", timm.create_model("resnet18"))
    net = build_network(
        {
            "_target_": "segmentation_models_pytorch.Unet",
            "encoder_name": "resnet18",
            "encoder_weights": str(tmp_path / "r18.pth"),
            "classes": 1,
        },
        in_channels=1,
    )
    assert torch.allclose(net.encoder.conv1.weight, saved["conv1.weight"].sum(1, keepdim=True))
    assert torch.equal(net.encoder.layer1[0].conv1.weight, saved["layer1.0.conv1.weight"])


def test_encoder_weights_that_do_not_fit_name_the_keys(tmp_path):
    import timm

    from src.utils.errors import UserError

    save_weights(tmp_path / "r34.pth", timm.create_model("resnet34"))
    with pytest.raises(
        UserError,
        match=r"r34.pth does not fit encoder resnet18: 0 keys missing \[\], \d+ unexpected "
        r"\['layer1.2.bn1.bias'",
    ):
        HyperUnet(encoder_name="resnet18", encoder_weights=str(tmp_path / "r34.pth"), stem="standard")
    with pytest.raises(UserError, match="nowhere.pth not found: save the encoder's state dict there"):
        HyperUnet(encoder_name="resnet18", encoder_weights=str(tmp_path / "nowhere.pth"))
    (tmp_path / "bad.pth").write_bytes(b"not torch")
    with pytest.raises(UserError, match="bad.pth cannot be read"):
        HyperUnet(encoder_name="resnet18", encoder_weights=str(tmp_path / "bad.pth"))
