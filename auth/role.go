package auth

import "slices"

// Role is what a user is allowed to do, as DOMAIN.md defines it.
type Role string

const (
	RoleAdmin        Role = "admin"
	RoleLead         Role = "lead"
	RoleInvestigator Role = "investigator"
	RoleVendorAgent  Role = "vendor_agent"
	RoleLeadership   Role = "leadership"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleAdmin, RoleLead, RoleInvestigator, RoleVendorAgent, RoleLeadership}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Action is something a user may try to do to a resource.
type Action string

// The actions of Casefile. Admin-only actions first.
const (
	ManageUsers    Action = "users.manage"
	ReadAudit      Action = "audit.read"
	WriteTaxonomy  Action = "taxonomy.write"
	ManageWebhooks Action = "webhooks.manage"
	// ImportData brings records made elsewhere into the store (casefile
	// import): it writes as the importing user without the review steps a
	// record made in Casefile goes through, so it is an admin's.
	ImportData Action = "data.import"

	ReadTaxonomy Action = "taxonomy.read"
	ReadSelf     Action = "self.read"

	CreateCase         Action = "case.create"
	ReadCase           Action = "case.read"
	EditCase           Action = "case.edit"
	ReassignCase       Action = "case.reassign"
	ReopenCase         Action = "case.reopen"
	ReadActorContact   Action = "actor.contact.read"
	ProposeEnforcement Action = "enforcement.propose"
	ApproveEnforcement Action = "enforcement.approve"
	// ListEnforcements is listing applied enforcements row by row, case
	// key by case key (the transparency export); the rows are limited to
	// cases the caller may read. Leadership reads the counts instead
	// (ReadReports), never case keys.
	ListEnforcements Action = "enforcement.list"

	CreateIncident    Action = "incident.create"
	ReadIncident      Action = "incident.read"
	EditIncident      Action = "incident.edit"
	DraftPostmortem   Action = "postmortem.draft"
	ReadPostmortem    Action = "postmortem.read"
	ApprovePostmortem Action = "postmortem.approve"
	PublishPostmortem Action = "postmortem.publish"

	// ReadRisk and EditRisk cover the risk register: reading risks, and
	// filing, editing and linking them.
	ReadRisk Action = "risk.read"
	EditRisk Action = "risk.edit"

	ReviewQuality Action = "quality.review"
	ReadReports   Action = "reports.read"
	Search        Action = "search"
)

// Resource describes the object an action touches: only the attributes that
// decide access. The zero Resource stands for "the collection as a whole".
type Resource struct {
	Team       string
	Vendor     string
	Assignee   string
	Restricted bool
	// Published is set for postmortems that leadership may read.
	Published bool
	// Author is who created the object (for "nobody approves their own").
	Author string
	// Enforcement is the action of an enforcement being proposed.
	Enforcement string
}

// vendorEnforcements are the only enforcement actions a vendor agent may propose.
var vendorEnforcements = []string{"warning", "content_removal"}

// Can is the one permission decision of Casefile: every handler and service
// asks it, and nothing else compares roles. A nil or disabled user may do
// nothing.
func Can(u *User, a Action, r Resource) bool {
	if u == nil || u.Disabled || !u.Role.Valid() {
		return false
	}
	switch a {
	case ManageUsers, ReadAudit, WriteTaxonomy, ManageWebhooks, ImportData:
		return u.Role == RoleAdmin
	case ReadSelf, ReadTaxonomy:
		return true
	case ApproveEnforcement, ApprovePostmortem:
		// Nobody approves their own work, whatever their role.
		if r.Author != "" && r.Author == u.Username {
			return false
		}
	}

	switch u.Role {
	case RoleAdmin:
		return true
	case RoleLead:
		return true
	case RoleInvestigator:
		switch a {
		case CreateCase, CreateIncident, EditIncident, ReadIncident, DraftPostmortem, ReadPostmortem, Search, ReadActorContact,
			ReadRisk, EditRisk, ListEnforcements:
			return true
		case ReadCase, EditCase, ProposeEnforcement:
			return investigatorSees(u, r)
		}
		return false
	case RoleVendorAgent:
		switch a {
		case ReadCase, EditCase:
			return vendorSees(u, r)
		case ProposeEnforcement:
			return vendorSees(u, r) && slices.Contains(vendorEnforcements, r.Enforcement)
		case Search, ListEnforcements:
			return true
		}
		return false
	case RoleLeadership:
		switch a {
		case ReadPostmortem:
			return r.Published
		case ReadIncident, ReadReports, Search, ReadRisk:
			return true
		}
		return false
	}
	return false
}

// CaseScope says which cases a user may read, as data, so that the search
// index filters by exactly the rule Can applies: a case is readable when
// All is set, or it is assigned to Assignee, or it is unrestricted and
// belongs to Team or Vendor. The zero CaseScope allows nothing.
type CaseScope struct {
	All      bool
	Assignee string
	Team     string
	Vendor   string
}

// ReadableCases is the scope of cases u may read.
func ReadableCases(u *User) CaseScope {
	if u == nil || u.Disabled {
		return CaseScope{}
	}
	switch u.Role {
	case RoleAdmin, RoleLead:
		return CaseScope{All: true}
	case RoleInvestigator:
		return CaseScope{Assignee: u.Username, Team: u.Team}
	case RoleVendorAgent:
		return CaseScope{Vendor: u.Vendor}
	}
	return CaseScope{}
}

// Allows reports whether the scope covers a case with the attributes of r.
func (s CaseScope) Allows(r Resource) bool {
	switch {
	case s.All:
		return true
	case s.Assignee != "" && r.Assignee == s.Assignee:
		return true
	case r.Restricted:
		return false
	}
	return s.Team != "" && r.Team == s.Team || s.Vendor != "" && r.Vendor == s.Vendor
}

// investigatorSees: their own team's cases and cases assigned to them;
// restricted cases only when assigned to them.
func investigatorSees(u *User, r Resource) bool { return ReadableCases(u).Allows(r) }

// vendorSees: only unrestricted cases of the agent's own vendor.
func vendorSees(u *User, r Resource) bool { return ReadableCases(u).Allows(r) }
