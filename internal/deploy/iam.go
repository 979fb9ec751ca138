package deploy

import (
	"path"
	"sort"
	"strings"
)

// DynamoDBCall is one DynamoDB request a function makes, as IAM authorises it: the action
// (dynamodb:GetItem …), the table's logical id and the index ("" for the table itself).
type DynamoDBCall struct {
	Action, Table, Index string
}

func (c DynamoDBCall) String() string {
	if c.Index == "" {
		return c.Action + " on " + c.Table
	}
	return c.Action + " on " + c.Table + "/index/" + c.Index
}

// dynamoDBPolicyTemplates are the actions of the SAM policy templates the template uses
// for tables (samtranslator's policy_templates.json); each covers the table and all its
// indexes.
var dynamoDBPolicyTemplates = map[string][]string{
	"DynamoDBCrudPolicy": {"dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Scan", "dynamodb:Query",
		"dynamodb:UpdateItem", "dynamodb:BatchWriteItem", "dynamodb:BatchGetItem", "dynamodb:DescribeTable", "dynamodb:ConditionCheckItem"},
	"DynamoDBReadPolicy":  {"dynamodb:GetItem", "dynamodb:Scan", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:DescribeTable"},
	"DynamoDBWritePolicy": {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"},
}

// grant is one allowed action on a table resource; index is "" for the table, "*" for
// every index.
type grant struct {
	action, table, index string
}

// dynamoDBGrants returns what the function's Policies allow on the template's tables:
// inline statements whose resources are !GetAtt <Table>.Arn or !Sub ${<Table>.Arn}/index/<name>,
// and the DynamoDB policy templates.
func (t *Template) dynamoDBGrants(fn string) []grant {
	var out []grant
	for _, pol := range asSlice(t.Resources[fn].Properties["Policies"]) {
		pm := asMap(pol)
		for name, actions := range dynamoDBPolicyTemplates {
			args, ok := pm[name]
			if !ok {
				continue
			}
			table, _ := ref(asMap(args)["TableName"])
			for _, a := range actions {
				out = append(out, grant{a, table, ""}, grant{a, table, "*"})
			}
		}
		for _, st := range asSlice(pm["Statement"]) {
			sm := asMap(st)
			if e := str(sm["Effect"]); e != "" && e != "Allow" {
				continue
			}
			var resources []any
			if rs, ok := sm["Resource"].([]any); ok {
				resources = rs
			} else {
				resources = []any{sm["Resource"]}
			}
			for _, r := range resources {
				table, index, ok := tableResource(r)
				if !ok {
					continue
				}
				for _, a := range stringsOf(sm["Action"]) {
					if strings.HasPrefix(a, "dynamodb:") {
						out = append(out, grant{a, table, index})
					}
				}
			}
		}
	}
	return out
}

// tableResource reads a table or index resource of a policy statement.
func tableResource(r any) (table, index string, ok bool) {
	if id, attr := ref(r); id != "" {
		return id, "", attr == "Arn"
	}
	sub, _ := asMap(r)["Fn::Sub"].(string)
	rest, found := strings.CutPrefix(sub, "${")
	if !found {
		return "", "", false
	}
	id, tail, found := strings.Cut(rest, ".Arn}")
	if !found {
		return "", "", false
	}
	if tail == "" {
		return id, "", true
	}
	if ix, found := strings.CutPrefix(tail, "/index/"); found && ix != "" {
		return id, ix, true
	}
	return "", "", false
}

func (g grant) covers(c DynamoDBCall) bool {
	if ok, _ := path.Match(g.action, c.Action); !ok || g.table != c.Table {
		return false
	}
	if c.Index == "" {
		return g.index == ""
	}
	return g.index == "*" || g.index == c.Index
}

// CheckDynamoDBAccess compares the DynamoDB requests a function made (recorded while its
// code ran) with what its policies allow: every call must be allowed, else it fails with
// AccessDenied in AWS. With exact, every action the policies grant on a table or index
// must also have been used, so that the function holds no permission it does not need.
func CheckDynamoDBAccess(t *Template, fn string, calls []DynamoDBCall, exact bool) []string {
	grants := t.dynamoDBGrants(fn)
	var problems []string
	seen := map[DynamoDBCall]bool{}
	for _, c := range calls {
		if seen[c] {
			continue
		}
		seen[c] = true
		allowed := false
		for _, g := range grants {
			if g.covers(c) {
				allowed = true
				break
			}
		}
		if !allowed {
			problems = append(problems, fn+": the code calls "+c.String()+", which its policies do not allow")
		}
	}
	if exact {
		unused := map[string]bool{}
		for _, g := range grants {
			used := false
			for c := range seen {
				if g.covers(c) {
					used = true
					break
				}
			}
			if !used {
				res := g.table
				if g.index != "" {
					res += "/index/" + g.index
				}
				unused[fn+": policies allow "+g.action+" on "+res+", which the code never calls"] = true
			}
		}
		for p := range unused {
			problems = append(problems, p)
		}
	}
	sort.Strings(problems)
	return problems
}
