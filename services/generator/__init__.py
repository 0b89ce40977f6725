"""Generator service: serves enhanced fragments from a Redis ring over gRPC (core in services.common.enhanced)."""
