# The two commands of the README. Both install what they need first.
.PHONY: demo test install

demo:
	@scripts/demo

test:
	@scripts/test

install:
	@scripts/bootstrap
