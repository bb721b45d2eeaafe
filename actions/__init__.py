"""The action plans: the eight special actions of the 14th Five-Year manufacturing plan and later plans' sets."""
