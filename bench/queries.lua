-- Rotates through typical search words a person types, two to a dozen
-- characters, some multi-word, some filtered by sector.
local qs = {"justice", "health", "agri", "depa%20of%20rail", "ministry%20of%20fin", "directorate",
  "district%20office%20agra", "commission", "rural", "textiles", "training%20centre", "uttar",
  "education", "board", "water%20res", "posts", "institute%20science", "welfare", "pensions", "co",
  "regional%20office%20of%20coal", "kerala", "zonal", "research&sector=state", "law&sector=center",
  "power", "tourism", "field%20unit%20pune", "sports", "council"}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/api/v1/orgs?q=" .. qs[(i % #qs) + 1])
end
