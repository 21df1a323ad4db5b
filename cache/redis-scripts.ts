/**
 * The directory transitions of docs/ARCHITECTURE.md §5 as Lua scripts: Redis runs each script
 * alone, so a transition is atomic across gateways. They mirror
 * `LocalCoherenceBus` step for step; the transition tests run on both.
 *
 * Layout under the key prefix P (ARGV[1] of every script):
 *   P..'dir:'..line      hash: '#epoch' -> integer, 'h:'..instanceId -> '<state>:<token>:<serial>'
 *   P..'#serial'         integer: the last registration number handed out (JOIN, and WRITE for the writer)
 *   P..'member:'..id     string: the instance's membership token, expiring with its lease
 *   P..'members'         set: ids that registered; pruned of expired memberships by FORGET
 *   P..'fence:'..id..':'..token, P..'fences'   see REVOKE; both expire with the longest fence
 * Nothing stays once nobody holds it: LEAVE and SWEEP delete lines without live
 * holders, FORGET deletes '#serial' when no membership is live (docs/ARCHITECTURE.md §5).
 * Member keys are read by name inside the scripts, so this needs one Redis
 * node (not Cluster) — the directory is small and the bus is one node anyway.
 */

const LIVE = `
local prefix = ARGV[1]
local function live(id, token)
  return redis.call('GET', prefix .. 'member:' .. id) == token
end
local function entry(value)
  local state, token, serial = string.match(value, '^(%u):([^:]*):(%d+)$')
  if not state then return string.sub(value, 1, 1), string.sub(value, 3), 0 end
  return state, token, tonumber(serial)
end
local function nextSerial()
  return redis.call('INCR', prefix .. '#serial')
end
`;

/** ARGV: prefix, id, token, leaseMs. */
export const REGISTER = `
redis.call('SET', ARGV[1] .. 'member:' .. ARGV[2], ARGV[3], 'PX', ARGV[4])
redis.call('SADD', ARGV[1] .. 'members', ARGV[2])
return 'registered'
`;

/** ARGV: prefix, id, token, leaseMs. */
export const RENEW = `${LIVE}
if not live(ARGV[2], ARGV[3]) then return 'expelled' end
redis.call('PEXPIRE', prefix .. 'member:' .. ARGV[2], ARGV[4])
return 'renewed'
`;

/**
 * ARGV: prefix, id, token, fence ('1' or '0'). Returns the revoked lease's
 * remaining milliseconds. A fenced revocation keeps P..'fence:'..id..':'..token
 * until that lease ends, listed in the set P..'fences', for WRITE to wait out.
 */
export const REVOKE = `${LIVE}
if not live(ARGV[2], ARGV[3]) then return 0 end
local left = redis.call('PTTL', prefix .. 'member:' .. ARGV[2])
redis.call('DEL', prefix .. 'member:' .. ARGV[2])
redis.call('SREM', prefix .. 'members', ARGV[2])
if left < 0 then return 0 end
if ARGV[4] == '1' and left > 0 then
  local fence = prefix .. 'fence:' .. ARGV[2] .. ':' .. ARGV[3]
  redis.call('SET', fence, '1', 'PX', left)
  redis.call('SADD', prefix .. 'fences', fence)
  -- The set outlives none of its fences, and no fence outlives its lease.
  if redis.call('PTTL', prefix .. 'fences') < left then redis.call('PEXPIRE', prefix .. 'fences', left) end
end
return left
`;

/**
 * KEYS[1]: the line. ARGV: prefix, id, token.
 * Returns {'joined', state, epoch, serial, id1, from1, ...} (the downgraded E/M holders) or {'expelled'}.
 */
export const JOIN = `${LIVE}
local me, token, dir = ARGV[2], ARGV[3], KEYS[1]
if not live(me, token) then return {'expelled'} end
local epoch = tonumber(redis.call('HGET', dir, '#epoch') or '0')
local mine = redis.call('HGET', dir, 'h:' .. me)
if mine then
  local state, mineToken, serial = entry(mine)
  if mineToken == token and state ~= 'I' then return {'joined', state, epoch, serial} end
end
local fields = redis.call('HGETALL', dir)
local others, reply = 0, {'joined', 'E', epoch, 0}
for i = 1, #fields, 2 do
  local field, value = fields[i], fields[i + 1]
  local id = string.sub(field, 3)
  if string.sub(field, 1, 2) == 'h:' and id ~= me then
    local state, holderToken, serial = entry(value)
    if not live(id, holderToken) then
      redis.call('HDEL', dir, field)
    elseif state ~= 'I' then
      others = others + 1
      if state ~= 'S' then
        redis.call('HSET', dir, field, 'S:' .. holderToken .. ':' .. serial)
        table.insert(reply, id)
        table.insert(reply, state)
      end
    end
  end
end
if others > 0 then reply[2] = 'S' end
reply[4] = nextSerial()
redis.call('HSET', dir, 'h:' .. me, reply[2] .. ':' .. token .. ':' .. reply[4])
return reply
`;

/**
 * KEYS: the lines. ARGV: prefix, id, token.
 * Returns {'written', fenceLeftMs, then per line: epoch, serial, n, id1, token1, serial1, ... idn, tokenn, serialn} or {'expelled'}.
 */
export const WRITE = `${LIVE}
local me, token = ARGV[2], ARGV[3]
if not live(me, token) then return {'expelled'} end
local fenceLeft = 0
for _, fence in ipairs(redis.call('SMEMBERS', prefix .. 'fences')) do
  local left = redis.call('PTTL', fence)
  if left < 0 then redis.call('SREM', prefix .. 'fences', fence)
  elseif left > fenceLeft then fenceLeft = left end
end
local reply = {'written', fenceLeft}
for k = 1, #KEYS do
  local dir = KEYS[k]
  local epoch = redis.call('HINCRBY', dir, '#epoch', 1)
  local targets = {}
  local fields = redis.call('HGETALL', dir)
  for i = 1, #fields, 2 do
    local field, value = fields[i], fields[i + 1]
    if string.sub(field, 1, 2) == 'h:' then
      local id = string.sub(field, 3)
      local _, holderToken, serial = entry(value)
      if id ~= me and not live(id, holderToken) then
        redis.call('HDEL', dir, field)
      elseif id ~= me then
        redis.call('HSET', dir, field, 'I:' .. holderToken .. ':' .. serial)
        table.insert(targets, id)
        table.insert(targets, holderToken)
        table.insert(targets, serial)
      end
    end
  end
  local serial = nextSerial()
  redis.call('HSET', dir, 'h:' .. me, 'M:' .. token .. ':' .. serial)
  table.insert(reply, epoch)
  table.insert(reply, serial)
  table.insert(reply, #targets / 3)
  for _, v in ipairs(targets) do table.insert(reply, v) end
end
return reply
`;

/**
 * KEYS: the lines. ARGV: prefix, id, token, then the serial of the registration
 * left on each line. Only that registration is removed. An empty line is
 * deleted (epochs need only grow while held).
 */
export const LEAVE = `${LIVE}
local me, token = ARGV[2], ARGV[3]
for k = 1, #KEYS do
  local dir = KEYS[k]
  local mine = redis.call('HGET', dir, 'h:' .. me)
  local _, mineToken, serial = entry(mine or 'I::0')
  if mine and mineToken == token and serial == tonumber(ARGV[3 + k]) then
    redis.call('HDEL', dir, 'h:' .. me)
    local left = redis.call('HLEN', dir)
    if left == 0 or (left == 1 and redis.call('HEXISTS', dir, '#epoch') == 1) then
      redis.call('DEL', dir)
    end
  end
end
return 'left'
`;

/**
 * KEYS: lines. ARGV: prefix. Removes registrations whose membership has ended
 * and deletes a line left with none. JOIN and WRITE drop such registrations
 * anyway when they touch the line; this reaches the lines nobody touches again
 * (a crashed gateway's, or everything after the last gateway stops).
 */
export const SWEEP = `${LIVE}
local swept = 0
for k = 1, #KEYS do
  local dir = KEYS[k]
  local fields = redis.call('HGETALL', dir)
  local holders = 0
  for i = 1, #fields, 2 do
    local field, value = fields[i], fields[i + 1]
    if string.sub(field, 1, 2) == 'h:' then
      local _, holderToken = entry(value)
      if live(string.sub(field, 3), holderToken) then holders = holders + 1 else redis.call('HDEL', dir, field) end
    end
  end
  if holders == 0 and #fields > 0 then
    redis.call('DEL', dir)
    swept = swept + 1
  end
end
return swept
`;

/**
 * ARGV: prefix. Prunes ended memberships from P..'members'; when none is live,
 * deletes '#serial' too. Safe: serials are compared only within a live
 * membership's registrations, and JOIN/WRITE drop every dead one before
 * comparing, so numbering may start again once nobody is registered.
 * Returns the number of live memberships.
 */
export const FORGET = `
local prefix = ARGV[1]
for _, id in ipairs(redis.call('SMEMBERS', prefix .. 'members')) do
  if redis.call('EXISTS', prefix .. 'member:' .. id) == 0 then redis.call('SREM', prefix .. 'members', id) end
end
local live = redis.call('SCARD', prefix .. 'members')
if live == 0 then redis.call('DEL', prefix .. '#serial') end
return live
`;
