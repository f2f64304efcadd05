"""The Lua scripts behind ``pipelines.state.redis_store``: each runs atomically inside Redis.

Atomicity is the point: two workers that meet the same URL, fingerprint or
near-duplicate band at the same moment are serialised by Redis, so exactly one
of them claims the article.
"""

from pipelines.state.store import INDEXED_VERSIONS

CLAIM = r"""
local P, me, heir, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local timeout, threshold, maxcand = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local canonical, fp, mins, first_seen = ARGV[8], ARGV[9], ARGV[10], ARGV[11]
-- versions: the full fingerprint, the record's version (add) or the one expected (claim, 0 = any),
-- update ('1': a re-fetch of the article stored at canonical), validators and fetch time
local fullfp, want, upd, etag, lastmod, checked = ARGV[12], tonumber(ARGV[13]), ARGV[14], ARGV[15], ARGV[16], ARGV[17]
local nu = tonumber(ARGV[18])
local urls, bands = {}, {}
for k = 19, 18 + nu do urls[#urls + 1] = ARGV[k] end
for k = 19 + nu, #ARGV do bands[#bands + 1] = ARGV[k] end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if mode ~= 'peek' then redis.call('ZADD', P .. ':live', now, me) end

local function ikey(kind, h) return P .. ':' .. kind .. ':' .. string.format('%02x%02x', h:byte(1), h:byte(2)) end
local function alive(inst)
  local seen = redis.call('ZSCORE', P .. ':live', inst)
  return seen and now - tonumber(seen) <= timeout
end
local function status(id)
  local d = redis.call('HMGET', P .. ':doc:' .. id, 's', 'o')
  if not d[1] then return nil end
  if heir ~= '' and d[2] == heir then return 'heir' end
  if d[1] == 'd' then return 'held' end
  if d[1] == 'r' then return 'free' end
  if d[2] == me then return 'held' end
  if alive(d[2]) then return 'held' end
  return 'free'
end
local function canon(id) return redis.call('HGET', P .. ':doc:' .. id, 'c') end
local function sim(a, b)
  if not b or #a ~= #b then return 0 end
  local same = 0
  for k = 1, #a, 2 do if a:sub(k, k + 1) == b:sub(k, k + 1) then same = same + 1 end end
  return same / (#a / 2)
end
local function hex(b)
  local out = ''
  for k = 1, #(b or '') do out = out .. string.format('%02x', b:byte(k)) end
  return out
end
local function link_urls(id, only_new)
  local key, blob = P .. ':doc:' .. id, ''
  for _, h in ipairs(urls) do
    local cur = redis.call('HGET', ikey('u', h), h:sub(3))
    if not cur or (not only_new and cur ~= tostring(id)) then
      if not cur then redis.call('HINCRBY', P .. ':count', 'urls', 1) end
      redis.call('HSET', ikey('u', h), h:sub(3), id)
      blob = blob .. h
    end
  end
  if blob ~= '' then redis.call('HSET', key, 'u', (redis.call('HGET', key, 'u') or '') .. blob) end
end
local function index_text(id, version)
  -- fingerprint and bands point to the article; those of its first INDEXED_VERSIONS versions stay (copies
  -- of them match); a later version indexes its fingerprint only, dropped again when it is replaced (SETTLE)
  local key = P .. ':doc:' .. id
  if fp ~= '' and redis.call('HSET', ikey('f', fp), fp:sub(3), id) == 1 then
    redis.call('HINCRBY', P .. ':count', 'fingerprints', 1)
  end
  if version and version > __INDEXED_VERSIONS__ then return end
  local blob = ''
  for _, b in ipairs(bands) do
    local bk, field = ikey('b', b), b:sub(3)
    local v = redis.call('HGET', bk, field)
    if not v then redis.call('HSET', bk, field, id); blob = blob .. b
    elseif not (' ' .. v .. ' '):find(' ' .. id .. ' ', 1, true) then redis.call('HSET', bk, field, v .. ' ' .. id); blob = blob .. b end
  end
  if blob ~= '' then redis.call('HSET', key, 'b', (redis.call('HGET', key, 'b') or '') .. blob) end
end
local function stage_version(id, version, previous)
  -- the next version waits in n* fields until SETTLE commits it (after its line is fsynced) or drops it
  local owner = me
  if heir ~= '' then owner = heir end
  redis.call('HSET', P .. ':doc:' .. id, 'nF', fullfp, 'nf', fp, 'nm', mins, 'nv', version, 'no', owner,
             'ne', etag, 'nl', lastmod, 'nk', checked)
  index_text(id, version)
  link_urls(id, true)
  return {'upd', tostring(id), owner, tostring(version), previous}
end

if fp ~= '' and ((mode == 'claim' and upd == '1') or (mode == 'add' and want > 1)) then
  local id = redis.call('HGET', ikey('u', urls[1]), urls[1]:sub(3))
  if id then
    local key = P .. ':doc:' .. id
    local d = redis.call('HMGET', key, 's', 'o', 'c', 'f', 'v', 'no', 'F')
    local v = tonumber(d[5] or '1')
    if d[1] == 'd' and d[3] == canonical and d[4] then  -- no fingerprint: a copy's URLs, never versioned
      local next_version = v + 1
      if mode == 'add' then next_version = want end
      if d[4] == fp or (mode == 'add' and want <= v) or (mode == 'claim' and want > 0 and want ~= v + 1) then
        -- unchanged (or not the version a recovered line was): remember the check only
        redis.call('HSET', key, 'k', checked)
        if etag ~= '' then redis.call('HSET', key, 'e', etag) end
        if lastmod ~= '' then redis.call('HSET', key, 'l', lastmod) end
        link_urls(id, true)
        return {'dup', 'duplicate_url', canonical}
      end
      if d[6] and d[6] ~= heir and (d[6] == me or alive(d[6])) then
        return {'dup', 'duplicate_url', canonical}  -- this or another live worker is writing a new version now
      end
      local previous = d[7]
      if not previous or previous == '' then previous = hex(d[4]) end
      return stage_version(id, next_version, previous)
    end
  end
end

local take = nil
if mode == 'add' then
  local cur = redis.call('HGET', ikey('u', urls[1]), urls[1]:sub(3))
  if cur and redis.call('EXISTS', P .. ':doc:' .. cur) == 1 then
    link_urls(cur, true)
    return {'dup', 'duplicate_url', canon(cur)}
  end
else
  local function consider(id)
    local st = status(id)
    if st == 'held' then return true end
    if st and not take then take = id end
    return false
  end
  for _, h in ipairs(urls) do
    local id = redis.call('HGET', ikey('u', h), h:sub(3))
    if id and consider(id) then
      if mode == 'claim' then link_urls(id, true) end
      return {'dup', 'duplicate_url', canon(id)}
    end
  end
  if fp ~= '' then
    local id = redis.call('HGET', ikey('f', fp), fp:sub(3))
    if id and consider(id) then
      if mode == 'claim' then link_urls(id, true) end
      return {'dup', 'duplicate_text', canon(id)}
    end
  end
  if mins ~= '' and #bands > 0 then
    local counts, order = {}, {}
    for _, b in ipairs(bands) do
      local v = redis.call('HGET', ikey('b', b), b:sub(3))
      if v then
        for id in v:gmatch('%d+') do
          if not counts[id] then counts[id] = 0; order[#order + 1] = id end
          counts[id] = counts[id] + 1
        end
      end
    end
    table.sort(order, function(x, y)
      if counts[x] ~= counts[y] then return counts[x] > counts[y] end
      return tonumber(x) < tonumber(y)
    end)
    local best, best_score, free = nil, -1, nil
    for k = 1, math.min(#order, maxcand) do
      local id = order[k]
      local score = sim(mins, redis.call('HGET', P .. ':doc:' .. id, 'm'))
      if score >= threshold then
        local st = status(id)
        if st == 'held' and score > best_score then best, best_score = id, score
        elseif st and st ~= 'held' and not free then free = id end
      end
    end
    if best then
      if mode == 'claim' then link_urls(best, true) end
      return {'dup', 'near_duplicate', canon(best)}
    end
    if not take then take = free end
  end
  if mode == 'peek' then return {'none'} end
end

local id = take
if not id then
  id = redis.call('INCR', P .. ':docid')
  redis.call('HINCRBY', P .. ':count', 'articles', 1)
end
local key = P .. ':doc:' .. id
local owner = me
if heir ~= '' then owner = heir end
redis.call('HSET', key, 'c', canonical, 'o', owner, 's', 'p', 'v', math.max(want, 1), 'k', checked)
if etag ~= '' then redis.call('HSET', key, 'e', etag) end
if lastmod ~= '' then redis.call('HSET', key, 'l', lastmod) end
if redis.call('HEXISTS', key, 't') == 0 then redis.call('HSET', key, 't', first_seen) end
if fp ~= '' then redis.call('HSET', key, 'f', fp, 'F', fullfp) end
if mins ~= '' then redis.call('HSET', key, 'm', mins) end
index_text(id)
link_urls(id, false)
return {'own', tostring(id), owner}
"""

SETTLE = r"""
-- ARGV: prefix, new state ('d' commit / 'r' release), then (id, owner, kind) triples, kind 'c' for a
-- claimed article, 'v' for a staged version (CLAIM's stage_version). Returns claims lost.
-- On commit a staged version becomes the article's latest (the fingerprint it replaces is kept in
-- 'P', so prune can remove its index entry); on release it is dropped.
local P, state, lost = ARGV[1], ARGV[2], 0
local staged = {'nF', 'nf', 'nm', 'nv', 'no', 'ne', 'nl', 'nk'}
for k = 3, #ARGV, 3 do
  local key, owner = P .. ':doc:' .. ARGV[k], ARGV[k + 1]
  if ARGV[k + 2] == 'v' then
    if redis.call('HGET', key, 'no') == owner then
      if state == 'd' then
        local n = redis.call('HMGET', key, 'nF', 'nf', 'nm', 'nv', 'ne', 'nl', 'nk', 'f', 'v')
        if n[8] and n[8] ~= n[2] then
          if tonumber(n[9] or '1') <= __INDEXED_VERSIONS__ then  -- an early version: its fingerprint stays indexed
            redis.call('HSET', key, 'P', (redis.call('HGET', key, 'P') or '') .. n[8])
          else  -- a later one: it was only the latest (see CLAIM's index_text)
            local fk = P .. ':f:' .. string.format('%02x%02x', n[8]:byte(1), n[8]:byte(2))
            if redis.call('HGET', fk, n[8]:sub(3)) == ARGV[k] then
              redis.call('HDEL', fk, n[8]:sub(3)); redis.call('HINCRBY', P .. ':count', 'fingerprints', -1)
            end
          end
        end
        redis.call('HSET', key, 'F', n[1], 'f', n[2], 'v', n[4], 'e', n[5], 'l', n[6], 'k', n[7])
        if n[3] ~= '' then redis.call('HSET', key, 'm', n[3]) end
      end
      redis.call('HDEL', key, unpack(staged))
    elseif state == 'd' then lost = lost + 1 end  -- taken over by another worker meanwhile
  else
    local d = redis.call('HMGET', key, 's', 'o')
    if d[1] == 'p' and d[2] == owner then redis.call('HSET', key, 's', state)
    elseif d[1] ~= 'd' or d[2] ~= owner then lost = lost + 1 end
  end
end
return lost
"""

PRUNE = r"""
-- ARGV: prefix, doc id, cutoff (unix seconds). Deletes the doc and the index entries still pointing to it.
local P, id, cutoff = ARGV[1], ARGV[2], tonumber(ARGV[3])
local key = P .. ':doc:' .. id
local d = redis.call('HMGET', key, 't', 's', 'u', 'b', 'f')
if not d[1] or tonumber(d[1]) >= cutoff or d[2] == 'p' then return 0 end
local function ikey(kind, h) return P .. ':' .. kind .. ':' .. string.format('%02x%02x', h:byte(1), h:byte(2)) end
local u = d[3] or ''
for k = 1, #u, 8 do
  local h = u:sub(k, k + 7)
  if redis.call('HGET', ikey('u', h), h:sub(3)) == id then
    redis.call('HDEL', ikey('u', h), h:sub(3)); redis.call('HINCRBY', P .. ':count', 'urls', -1)
  end
end
local b = d[4] or ''
for k = 1, #b, 4 do
  local h = b:sub(k, k + 3)
  local v = redis.call('HGET', ikey('b', h), h:sub(3))
  if v then
    local rest = {}
    for other in v:gmatch('%d+') do if other ~= id then rest[#rest + 1] = other end end
    if #rest == 0 then redis.call('HDEL', ikey('b', h), h:sub(3))
    else redis.call('HSET', ikey('b', h), h:sub(3), table.concat(rest, ' ')) end
  end
end
if d[5] and redis.call('HGET', ikey('f', d[5]), d[5]:sub(3)) == id then
  redis.call('HDEL', ikey('f', d[5]), d[5]:sub(3)); redis.call('HINCRBY', P .. ':count', 'fingerprints', -1)
end
local earlier = redis.call('HGET', key, 'P') or ''  -- fingerprints of earlier versions
for k = 1, #earlier, 8 do
  local h = earlier:sub(k, k + 7)
  if redis.call('HGET', ikey('f', h), h:sub(3)) == id then
    redis.call('HDEL', ikey('f', h), h:sub(3)); redis.call('HINCRBY', P .. ':count', 'fingerprints', -1)
  end
end
redis.call('DEL', key)
redis.call('HINCRBY', P .. ':count', 'articles', -1)
return 1
"""

BEAT = r"""
local t = redis.call('TIME')
redis.call('ZADD', ARGV[1] .. ':live', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), ARGV[2])
return 1
"""

# The versions whose text keys stay indexed (pipelines.state.store.INDEXED_VERSIONS), as a Lua literal.
CLAIM = CLAIM.replace("__INDEXED_VERSIONS__", str(INDEXED_VERSIONS))
SETTLE = SETTLE.replace("__INDEXED_VERSIONS__", str(INDEXED_VERSIONS))
