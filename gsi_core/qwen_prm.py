"""Qwen2.5-Math-PRM built from transformers' own Qwen2 code, so loading it runs no code from the model repository.

The checkpoint names its architecture `Qwen2ForProcessRewardModel` and ships `modeling_qwen2_rm.py` (written for
transformers 4.x) for `trust_remote_code`. The architecture is small: a `Qwen2Model` and a `score` head of
Linear(h, h), ReLU, Linear(h, 2) giving [negative, positive] logits per token, read at the `<extra_0>` step
tokens (vLLM serves the same layout natively). Its weights are `model.*`, `score.0.*` and `score.2.*`, exactly
the names of this module's parameters, so `from_pretrained` loads them as they are.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import Qwen2Config, Qwen2Model, Qwen2PreTrainedModel
from transformers.modeling_outputs import TokenClassifierOutput

ARCHITECTURE = "Qwen2ForProcessRewardModel"  # the name the checkpoint's config.json gives
LABELS = 2  # [negative, positive]: the reward is the softmax's probability of label 1


class Qwen2ForProcessRewardModel(Qwen2PreTrainedModel):
    """Qwen2.5-Math-PRM: per-token [negative, positive] logits from a Qwen2 body and a two-layer head."""

    config_class = Qwen2Config

    def __init__(self, config: Qwen2Config):
        super().__init__(config)
        self.model = Qwen2Model(config)
        hidden = config.hidden_size
        self.score = torch.nn.Sequential(torch.nn.Linear(hidden, hidden), torch.nn.ReLU(),
                                         torch.nn.Linear(hidden, LABELS))
        self.post_init()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                **kwargs: Any) -> TokenClassifierOutput:
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state
        return TokenClassifierOutput(logits=self.score(hidden))

    @classmethod
    def from_pretrained(cls, *args: Any, **kwargs: Any) -> "Qwen2ForProcessRewardModel":
        """The checkpoint's weights in this module, never its remote code; a weight this module has and the
        checkpoint lacks fails the load (a random score head would give plausible-looking, meaningless rewards)."""
        kwargs.pop("trust_remote_code", None)
        kwargs.pop("output_loading_info", None)
        model, info = super().from_pretrained(*args, output_loading_info=True, **kwargs)
        if info["missing_keys"]:
            raise OSError(f"not a {ARCHITECTURE} checkpoint: it lacks {sorted(info['missing_keys'])[:4]}…")
        return model
