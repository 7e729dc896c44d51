#!/usr/bin/env bash
# The GPU runner's job-started hook: refuses every job that is not publish.yml
# from main of this repository. See SECURITY.md, "The GPU runner".
#
# The runner runs this script before the first step of every job it takes, so
# it also stops a job that a pull request's edited workflow sent to the runner
# (the pull request changes the workflow, not this copy, which lives on the
# runner's machine). To install it, as the runner machine's administrator:
#
#   sudo install -o root -g root -m 0755 tools/gpu-runner/job-started.sh \
#       /opt/actions-runner-hooks/job-started.sh
#   echo ACTIONS_RUNNER_HOOK_JOB_STARTED=/opt/actions-runner-hooks/job-started.sh \
#       >> /path/to/actions-runner/.env      # then restart the runner service
#
# publish.yml's build job runs the same lines as its first step (the part of
# this file below this header; tests/test_workflows.py checks they are equal).
#
# Everything below reads the runner's default variables (GITHUB_*), which no
# workflow can override.
refuse() {
  echo "::error::Refused on the GPU runner: $1"
  exit 1
}
repository="ai-saturdays/dl-part1-executable"
workflow="$repository/.github/workflows/publish.yml@refs/heads/main"
[ "${GITHUB_REPOSITORY-}" = "$repository" ] ||
  refuse "the repository is '${GITHUB_REPOSITORY-}', not $repository"
[ "${GITHUB_REF-}" = "refs/heads/main" ] ||
  refuse "the ref is '${GITHUB_REF-}', not refs/heads/main"
[ "${GITHUB_WORKFLOW_REF-}" = "$workflow" ] ||
  refuse "the workflow is '${GITHUB_WORKFLOW_REF-}', not $workflow"
case "${GITHUB_EVENT_NAME-}" in
  push | schedule | workflow_dispatch) ;;
  *) refuse "the event is '${GITHUB_EVENT_NAME-}', not push, schedule or workflow_dispatch" ;;
esac
echo "A publishing run: $GITHUB_WORKFLOW_REF ($GITHUB_EVENT_NAME)"
