"""dut capability."""
