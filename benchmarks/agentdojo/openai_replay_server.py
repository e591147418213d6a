"""A local OpenAI Chat Completions server that plays one AgentDojo user task's ground truth.

A manual check of ``run_agentdojo.py --model openai:NAME`` where no real model is
reachable: the harness talks to this server through agentor-llm-providers' OpenAI
provider exactly as it would to api.openai.com. Each request is answered from the
conversation it carries (stateless): first ``plan.declare`` with the tools of the
user task's ground-truth calls (when offered), then those calls one per turn, then
the task's expected answer. It plays a model that ignores injections.

    python benchmarks/agentdojo/openai_replay_server.py --suite banking --task user_task_0 &
    OPENAI_BASE_URL=http://127.0.0.1:8765/v1 OPENAI_API_KEY=local \\
        python benchmarks/agentdojo/run_agentdojo.py --model openai:replay \\
        --suite banking --limit 1 --no-baseline
"""

from __future__ import annotations

import argparse
import copy
import json
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agentdojo.task_suite.load_suites import get_suites

BENCHMARK_VERSION = "v1.2.2"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="banking")
    parser.add_argument("--task", default="user_task_0")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    suite = get_suites(BENCHMARK_VERSION)[args.suite]
    task = suite.user_tasks[args.task]
    env = task.init_environment(suite.load_and_inject_default_environment({}))
    calls = [
        (c.function, json.loads(json.dumps(dict(c.args), default=str)))
        for c in task.ground_truth(copy.deepcopy(env))
    ]
    answer = task.GROUND_TRUTH_OUTPUT or "Done."

    def reply(body: dict[str, Any]) -> dict[str, Any]:
        tools = {t["function"]["name"]: t["function"] for t in body.get("tools", [])}
        plan = next((n for n, f in tools.items() if "Declare the tools" in f["description"]), None)
        counts = Counter(name for name, _ in calls)
        declared = {"tools": sorted(counts), "calls": dict(sorted(counts.items()))}
        moves = [(plan, declared)] if plan else []
        moves += calls
        done = sum(1 for m in body["messages"] if m["role"] == "tool")
        message: dict[str, Any] = {"role": "assistant", "content": None}
        if done < len(moves):
            name, arguments = moves[done]
            message["tool_calls"] = [
                {
                    "id": f"call_{done}",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(arguments)},
                }
            ]
        else:
            message["content"] = answer
        return {
            "id": f"chatcmpl-{done}",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": body.get("model", "replay"),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if "tool_calls" in message else "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            data = json.dumps(reply(body)).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"serving {args.suite}/{args.task} on http://127.0.0.1:{args.port}/v1", flush=True)
    httpd.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
