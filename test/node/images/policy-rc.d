#!/bin/sh
# Installed only while a recipe runs apt: packages must not start their services in an image build.
exit 101
