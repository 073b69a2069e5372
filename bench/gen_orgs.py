#!/usr/bin/env python3
"""Generates a directory CSV (key,name,sector,type,parent_key) of N
organisations in 4 levels with realistic Indian government names, for the
search benchmark. Deterministic (seeded)."""
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
rnd = random.Random(42)
subjects = ["Agriculture", "Health", "Education", "Justice", "Law", "Finance", "Revenue", "Home Affairs",
            "Railways", "Defence", "Textiles", "Tourism", "Culture", "Power", "Coal", "Mines", "Steel",
            "Labour", "Employment", "Rural Development", "Urban Development", "Water Resources", "Fisheries",
            "Animal Husbandry", "Food Processing", "Telecommunications", "Information Technology", "Posts",
            "Environment", "Forests", "Science", "Technology", "Space", "Atomic Energy", "Petroleum",
            "Natural Gas", "Shipping", "Civil Aviation", "Road Transport", "Highways", "Commerce", "Industry",
            "Cooperation", "Panchayati Raj", "Tribal Affairs", "Women", "Child Development", "Social Justice",
            "Youth Affairs", "Sports", "Personnel", "Training", "Pensions", "Statistics", "Planning",
            "Housing", "Consumer Affairs", "Public Distribution", "Chemicals", "Fertilizers", "Pharmaceuticals"]
states = ["Uttar Pradesh", "Maharashtra", "Bihar", "West Bengal", "Madhya Pradesh", "Tamil Nadu", "Rajasthan",
          "Karnataka", "Gujarat", "Andhra Pradesh", "Odisha", "Telangana", "Kerala", "Jharkhand", "Assam",
          "Punjab", "Chhattisgarh", "Haryana", "Uttarakhand", "Himachal Pradesh", "Tripura", "Meghalaya",
          "Manipur", "Nagaland", "Goa", "Arunachal Pradesh", "Mizoram", "Sikkim"]
districts = ["Agra", "Aligarh", "Allahabad", "Bareilly", "Varanasi", "Lucknow", "Kanpur", "Pune", "Nagpur", "Nashik",
             "Patna", "Gaya", "Kolkata", "Howrah", "Indore", "Bhopal", "Chennai", "Madurai", "Jaipur", "Jodhpur",
             "Mysuru", "Belagavi", "Surat", "Vadodara", "Guntur", "Cuttack", "Warangal", "Kochi", "Ranchi",
             "Guwahati", "Ludhiana", "Raipur", "Gurugram", "Dehradun", "Shimla", "Agartala", "Shillong"]
kinds3 = ["Directorate of", "Commission for", "Board of", "Institute of", "Authority for", "Council of",
          "National Centre for", "Regional Office of", "Office of the Commissioner of", "Corporation for"]
kinds4 = ["District Office", "Regional Centre", "Field Unit", "Training Centre", "Branch Office",
          "Sub-Divisional Office", "Circle Office", "Zonal Office"]

rows = []
def add(key, name, sector, typ, parent):
    rows.append((key, name, sector, typ, parent))

l1 = []
for i, s in enumerate(subjects):
    add(f"m{i}", f"Ministry of {s}", "center", "ministry", "")
    l1.append((f"m{i}", s, "center"))
for i, st in enumerate(states):
    add(f"s{i}", st.upper(), "state", "state", "")
    l1.append((f"s{i}", st, "state"))
l2 = []
for key, s, sector in l1:
    for j in range(6):
        sub = rnd.choice(subjects)
        name = f"Department of {sub}" + (f" {s}" if sector == "state" else f" and {rnd.choice(subjects)}")
        add(f"{key}d{j}", name, sector, "department", key)
        l2.append((f"{key}d{j}", sub, sector))
l3 = []
per3 = max(1, (n // 20 - len(rows)) // len(l2))
for key, s, sector in l2:
    for j in range(per3):
        name = f"{rnd.choice(kinds3)} {rnd.choice(subjects)} {rnd.choice(['Research', 'Development', 'Welfare', 'Services', 'Administration', 'Regulation'])}"
        add(f"{key}o{j}", name, sector, "organisation", key)
        l3.append((f"{key}o{j}", name, sector))
i = 0
while len(rows) < n:
    key, name, sector = l3[i % len(l3)]
    add(f"{key}f{i}", f"{rnd.choice(kinds4)} {rnd.choice(districts)}, {name}", sector, "office", key)
    i += 1

out = sys.stdout
out.write("key,name,sector,type,parent_key\n")
for r in rows[:n]:
    out.write(",".join('"' + f.replace('"', '""') + '"' if ("," in f or '"' in f) else f for f in r) + "\n")
