"""Operations helpers shared by the ops CLI, the console and the simulator."""
