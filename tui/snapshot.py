"""SVG pictures of the app after a scenario's commands, headless and fixed-size."""

from __future__ import annotations

import asyncio

from engine.scenario import Scenario

SIZE = (120, 40)


def replay_svg(sc: Scenario, commands: list[str], fix: bool | None = None,
               size: tuple[int, int] = SIZE) -> str:
    from tui.app import DdbstepApp

    async def shoot() -> str:
        app = DdbstepApp(sc, fix=fix, blink=False)
        async with app.run_test(size=size) as pilot:
            for line in commands:
                app.run_ddb(line)
            await app.settle()
            await pilot.pause()
            return app.export_screenshot()

    return asyncio.run(shoot())
