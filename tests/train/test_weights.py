"""The weights a generation engine receives: Hugging Face names, LoRA merged out of place."""

from __future__ import annotations

import copy

import torch

from envarena.train.tiny import build_tiny
from envarena.train.weights import exported_weights


def test_lora_export_equals_peft_merge_and_leaves_the_model_untouched():
    from peft import LoraConfig, get_peft_model

    base, _ = build_tiny(2, 32, 2, 0)
    names = set(base.state_dict())
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM"))
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:  # a trained adapter (B starts at zero)
                parameter.normal_(0, 0.5)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with exported_weights(model) as weights:
        exported = dict(weights)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # nothing written into the model
    assert set(exported) == names  # the checkpoint's own names, no lora_ tensors
    reference = copy.deepcopy(model).merge_and_unload().state_dict()
    for name, tensor in exported.items():
        assert torch.allclose(tensor, reference[name], atol=1e-6), name
    assert any(not torch.allclose(exported[n], base_w) for n, base_w in build_tiny(2, 32, 2, 0)[0].state_dict().items())


def test_full_fine_tune_export_is_the_state_dict():
    model, _ = build_tiny(2, 32, 2, 0)
    with exported_weights(model) as weights:
        exported = dict(weights)
    assert exported.keys() == model.state_dict().keys()
    assert all(torch.equal(exported[k], v) for k, v in model.state_dict().items())
