"""The GPU harness's device side: runs on the lent H200 with the device's Python 3.12, stdlib and aiohttp only."""
