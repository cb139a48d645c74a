"""How frames reach the screen: the pacer, the garbage-collector policy, the frame budget, the tuning, folded lines."""
