-- ArgoCD health check for llmops.dev/LLMDeployment
-- (argocd-cm key: resource.customizations.health.llmops.dev_LLMDeployment).
-- ArgoCD runs custom checks without Lua's string and math libraries, so this uses plain Lua only.
local hs = {}

local function readyMessage(status)
  if status.conditions == nil then
    return nil
  end
  for _, condition in ipairs(status.conditions) do
    if condition.type == "Ready" and condition.message ~= nil and condition.message ~= "" then
      return condition.message
    end
  end
  return nil
end

if obj.status == nil or obj.status.phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the llmops operator to observe the LLMDeployment"
  return hs
end

local status = obj.status
local phase = status.phase
local message = readyMessage(status) or phase

-- A status computed from an older spec says nothing about the current one.
if status.observedGeneration == nil or status.observedGeneration ~= obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the llmops operator to observe generation " .. tostring(obj.metadata.generation)
  return hs
end

if phase == "Ready" then
  hs.status = "Healthy"
elseif phase == "Failed" or phase == "Degraded" then
  hs.status = "Degraded"
elseif phase == "Pending" or phase == "Planning" or phase == "Converting" or phase == "Deploying" then
  hs.status = "Progressing"
else
  hs.status = "Unknown"
  message = "Unknown phase " .. tostring(phase)
end
hs.message = message
return hs
