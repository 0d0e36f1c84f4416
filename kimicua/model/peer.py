"""transformers' DeepseekV3ForCausalLM on OUR decoder's weights: a test oracle and a speed peer.

Moonlight is the DeepSeek-V3 decoder (MLA with q_lora_rank None, interleaved RoPE, noaux_tc routing
with one group, sigmoid scores + e_score_correction_bias, norm_topk_prob, routed_scaling_factor),
so transformers' own implementation, built from our config, must give our logits. Its tensors are
OUR tensors (assigned, not copied): the two models share memory, and a change to one is the other's.
Module names match ours but for the routed experts (gate_up_proj/down_proj = our w13/w2).
Needs transformers >= 5 (its `rope_parameters` config).
"""

from __future__ import annotations

import torch

from kimicua.model.config import TextConfig
from kimicua.model.decoder import Moonlight

RENAMES = {".mlp.experts.w13": ".mlp.experts.gate_up_proj", ".mlp.experts.w2": ".mlp.experts.down_proj"}


def deepseek_v3_config(t: TextConfig, attn_implementation: str = "sdpa"):
    """The DeepseekV3Config that describes our decoder."""
    from transformers import DeepseekV3Config

    cfg = DeepseekV3Config(
        vocab_size=t.vocab_size, hidden_size=t.hidden_size, intermediate_size=t.intermediate_size,
        moe_intermediate_size=t.moe_intermediate_size, num_hidden_layers=t.num_layers,
        num_attention_heads=t.num_heads, num_key_value_heads=t.num_heads, n_shared_experts=t.n_shared_experts,
        n_routed_experts=t.n_routed_experts, num_experts_per_tok=t.num_experts_per_tok,
        routed_scaling_factor=t.routed_scaling_factor, kv_lora_rank=t.kv_lora_rank, q_lora_rank=None,
        qk_rope_head_dim=t.qk_rope_head_dim, v_head_dim=t.v_head_dim, qk_nope_head_dim=t.qk_nope_head_dim,
        n_group=1, topk_group=1, first_k_dense_replace=t.first_k_dense_replace, norm_topk_prob=t.norm_topk_prob,
        hidden_act="silu", max_position_embeddings=t.max_position_embeddings, rms_norm_eps=t.rms_norm_eps,
        rope_parameters={"rope_type": "default", "rope_theta": t.rope_theta}, rope_interleave=True,
        attention_bias=False, tie_word_embeddings=False, num_nextn_predict_layers=0,
        bos_token_id=t.bos_token_id, eos_token_id=t.eos_token_id, pad_token_id=t.pad_token_id,
    )
    cfg._attn_implementation = attn_implementation
    return cfg


def deepseek_v3(model: Moonlight, attn_implementation: str = "sdpa"):
    """DeepseekV3ForCausalLM sharing `model`'s parameters (eval mode)."""
    from transformers import DeepseekV3ForCausalLM

    t = model.cfg
    if t.moe_layer_freq != 1:
        raise ValueError(f"deepseek_v3: moe_layer_freq {t.moe_layer_freq} has no DeepseekV3 counterpart")
    with torch.device("meta"):
        peer = DeepseekV3ForCausalLM(deepseek_v3_config(t, attn_implementation))
    state = {}
    for name, p in model.state_dict(keep_vars=True).items():
        for ours, theirs in RENAMES.items():
            name = name.replace(ours, theirs)
        state[name] = p.detach()
    peer.load_state_dict(state, strict=True, assign=True)
    # non-persistent buffers (RoPE inv_freq) stay on meta: recompute them where the weights are
    rope = peer.model.rotary_emb
    inv, rope.attention_scaling = rope.compute_default_rope_parameters(peer.config, device=None)
    rope.inv_freq = inv.to(model.lm_head.weight.device)
    rope.original_inv_freq = rope.inv_freq.clone()
    return peer.eval()
