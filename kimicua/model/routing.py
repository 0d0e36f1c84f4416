"""Routing records for RL: the experts each MoE layer chose for each generated token.

An RL trainer that recomputes a MoE policy's log-probs with a different expert choice than the
rollout's trains on a different function (verl's agent-loop output carries `routed_experts` for
this). The recorder hangs a forward hook on every MoE router ONLY while recording, so the model's
code and speed are untouched when it is off. A hook copies the router's top-k ids into a static
buffer (one row per engine slot): inside a CUDA graph capture the copy is captured and replays.

Alignment: row i of a generation's record is the routing of the forward pass whose logits chose
token i (the prompt's last position for token 0, the decode step fed token i-1 after that) --
the positions at which a trainer computes the log-prob of each response token. The stop token,
when the answer ends on one, has its row too. Ids within a row are sorted (top-k order is not
meaningful).
Legend: S slots, M MoE layers, A experts per token (top-k), T router tokens.
"""

from __future__ import annotations

import numpy as np
import torch

from kimicua.model.kimi_vl import KimiVL
from kimicua.model.moe import MoE


def routing_dtype(n_experts: int) -> np.dtype:
    """The smallest unsigned integer type that holds an expert id."""
    return np.dtype(np.uint8 if n_experts <= 256 else np.uint16 if n_experts <= 65536 else np.uint32)


class RoutingRecorder:
    """Hooks on the MoE routers of `model` writing into `ids` [S, M, A]; `close` removes them.

    The engine says what a forward is (`prefill(slot)`, `decode()`, `off()`): a prefill writes
    its last position's ids into its slot's row, a decode step rows 0..T-1. Forwards of anything
    else (another engine on the same model) write nothing.
    """

    def __init__(self, model: KimiVL, slots: int):
        routers = [layer.mlp.gate for layer in model.language_model.model.layers if isinstance(layer.mlp, MoE)]
        t = model.config.text
        self.n_layers, self.top_k = len(routers), t.num_experts_per_tok
        self.dtype = routing_dtype(t.n_routed_experts)
        device = routers[0].weight.device if routers else model.device
        self.ids = torch.zeros(slots, self.n_layers, self.top_k, dtype=torch.long, device=device)  # [S, M, A]
        self._slot: int | None = None
        self._mode = "off"
        self._handles = [r.register_forward_hook(self._hook(j)) for j, r in enumerate(routers)]

    def _hook(self, j: int):
        def record(module, inputs, out) -> None:
            ids = out[0]  # [T, A]
            if self._mode == "decode":
                self.ids[: ids.shape[0], j].copy_(ids)
            elif self._mode == "prefill":
                self.ids[self._slot, j].copy_(ids[-1])
        return record

    def prefill(self, slot: int) -> None:
        self._mode, self._slot = "prefill", slot

    def decode(self) -> None:
        self._mode, self._slot = "decode", None

    def off(self) -> None:
        self._mode, self._slot = "off", None

    def rows(self, n: int) -> np.ndarray:
        """Rows 0..n-1 on the host, ids sorted within each layer: [n, M, A] (a sync)."""
        return self.ids[:n].sort(dim=-1).values.cpu().numpy().astype(self.dtype)

    def empty(self) -> np.ndarray:
        return np.zeros((0, self.n_layers, self.top_k), dtype=self.dtype)

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
