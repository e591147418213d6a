"""Counting a run against its budget; a hand-off's tracker also spends its parents'."""

from __future__ import annotations

import time
from collections.abc import Callable

from agentor_runtime.agent import Budget
from agentor_runtime.codes import StopReason


class BudgetTracker:
    def __init__(
        self,
        budget: Budget,
        *,
        parent: BudgetTracker | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget = budget
        self.parent = parent
        self._monotonic = monotonic
        self.started = monotonic()
        own_deadline = self.started + budget.max_wall_time_s
        self.deadline: float = min(own_deadline, parent.deadline) if parent else own_deadline
        self.steps = 0
        self.tokens = 0
        self.tool_calls = 0

    def child(self, budget: Budget) -> BudgetTracker:
        return BudgetTracker(budget, parent=self, monotonic=self._monotonic)

    def _chain(self) -> list[BudgetTracker]:
        chain: list[BudgetTracker] = []
        node: BudgetTracker | None = self
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain

    def remaining_s(self) -> float:
        return self.deadline - self._monotonic()

    def exhausted(self) -> StopReason | None:
        """Why no further model call may be made, if one may not."""
        if self.remaining_s() <= 0:
            return StopReason.MAX_WALL_TIME
        for node in self._chain():
            if node.steps >= node.budget.max_steps:
                return StopReason.MAX_STEPS
            if node.tokens >= node.budget.max_tokens:
                return StopReason.MAX_TOKENS
        return None

    def tokens_left(self) -> int:
        return min(node.budget.max_tokens - node.tokens for node in self._chain())

    def may_call_tool(self) -> bool:
        return all(node.tool_calls < node.budget.max_tool_calls for node in self._chain())

    def spend_step(self) -> None:
        for node in self._chain():
            node.steps += 1

    def spend_tokens(self, count: int) -> None:
        for node in self._chain():
            node.tokens += count

    def spend_tool_call(self) -> None:
        for node in self._chain():
            node.tool_calls += 1

    def elapsed_s(self) -> float:
        return self._monotonic() - self.started
