package demo

// The words of the demo: what Trust & Safety casework reads like. Slots
// in braces ({handle}, {region}, {n}, {product}) are filled per record.
// Nothing here may look like a phone number or an e-mail address, and no
// handle is an English word: the postmortem PII scan would flag them.

// areaText is what cases of one policy area say.
type areaText struct {
	titles    []string
	summaries []string
	evidence  []evidenceText
	notes     []string
	findings  []string
	behaviors []string
}

type evidenceText struct {
	kind, description, reason string
}

// areas maps each policy area to its team and text.
var areas = map[string]struct {
	team   string
	vendor string // the BPO vendor that handles part of the area's volume, if any
	text   areaText
}{
	"fraud_scam": {team: "fraud", text: areaText{
		titles: []string{"Advance-fee scam run from {handle}", "Gift card scam targeting buyers in {region}",
			"Refund scam ring around {handle}", "Fake investment offers in direct messages from {handle}"},
		summaries: []string{"Buyers report paying {handle} for goods that never shipped; the account asks for payment outside the platform.",
			"Several reports describe the same script: a prize, a fee to release it, then silence.",
			"The account promises returns on a crypto scheme and pushes victims to an off-platform wallet."},
		evidence: []evidenceText{{"message", "Direct message asking the buyer to pay by gift card", "payment outside the platform"},
			{"listing", "Listing with stock photos reused from another seller", "reused images"},
			{"profile", "Profile created the same day as the first report", "new account"}},
		notes: []string{"Linked two more accounts by shared payout details.", "Reporter sent the full chat; script matches the known template.",
			"Payment processor confirms chargebacks on three orders."},
		findings:  []string{"The account ran a scripted advance-fee scam across at least {n} conversations.", "Payments were steered off-platform in every reported conversation."},
		behaviors: []string{"off-platform payment requests", "scripted messages"},
	}},
	"fraudulent_merchant": {team: "fraud", text: areaText{
		titles:    []string{"Storefront {handle} takes orders it never ships", "Merchant {handle} ships counterfeit electronics", "Dropshipping storefront with no stock: {handle}"},
		summaries: []string{"Orders are marked shipped with invalid tracking numbers; refund requests go unanswered.", "Buyers receive items that do not match the listing, and returns are refused."},
		evidence: []evidenceText{{"listing", "Listing of a {product} priced far below market", "implausible price"},
			{"review", "One-star review describing an empty parcel", "buyer complaint"}},
		notes:     []string{"Tracking numbers belong to a different courier.", "Merchant account shares a bank account with a banned storefront."},
		findings:  []string{"The merchant accepted {n} orders without fulfilment and reused tracking numbers."},
		behaviors: []string{"invalid tracking", "refund refusals"},
	}},
	"fake_reviews": {team: "fraud", vendor: "acme_bpo", text: areaText{
		titles:    []string{"Review burst on {handle}'s storefront", "Paid five-star reviews for {product} listings", "Review ring trading ratings with {handle}"},
		summaries: []string{"Dozens of five-star reviews arrived within an hour from accounts with no purchases.", "Reviewers share devices and post near-identical text."},
		evidence: []evidenceText{{"review", "Cluster of reviews with the same wording", "duplicated text"},
			{"profile", "Reviewer accounts created in one batch", "batch signup"}},
		notes:     []string{"Review timestamps fall within a twelve-minute window.", "Most reviewers never bought from this storefront."},
		findings:  []string{"Reviews were bought: {n} reviewer accounts share two devices."},
		behaviors: []string{"review bursts", "shared devices"},
	}},
	"fake_engagement": {team: "fraud", vendor: "acme_bpo", text: areaText{
		titles:    []string{"Follower farm boosting {handle}", "Click farm traffic on {handle}'s live streams", "Purchased views on {handle}'s videos"},
		summaries: []string{"Follower count jumped overnight from accounts with no activity.", "View counts come from a narrow set of data-centre addresses."},
		evidence: []evidenceText{{"profile", "Follower growth chart with a single-day spike", "anomalous growth"},
			{"video", "Video whose views come from one network range", "bot traffic"}},
		notes:     []string{"Engagement vendor advertises this account as a customer.", "Spike matches a known farm's schedule."},
		findings:  []string{"Engagement was inflated by about {n} automated accounts."},
		behaviors: []string{"bought followers"},
	}},
	"spam": {team: "fraud", vendor: "acme_bpo", text: areaText{
		titles:    []string{"Comment spam from {handle}", "Link spam in {product} listings", "Mass messaging campaign by {handle}"},
		summaries: []string{"The account posts the same link under hundreds of videos.", "Messages with a shortened link are sent to users who never interacted with the account."},
		evidence: []evidenceText{{"comment", "Identical comment posted under many videos", "repetition"},
			{"message", "Unsolicited message with a shortened link", "unsolicited link"}},
		notes:     []string{"Link resolves to a known spam domain.", "Posting rate is far above human pace."},
		findings:  []string{"Automated posting of the same link, about {n} times a day."},
		behaviors: []string{"mass messaging", "link spam"},
	}},
	"impersonation": {team: "fraud", text: areaText{
		titles:    []string{"{handle} impersonates a brand's support team", "Account copying a creator's identity: {handle}", "Fake customer support account {handle}"},
		summaries: []string{"The account uses a brand's logo and asks users for their login details.", "A copy of a popular creator's profile messages their fans for money."},
		evidence: []evidenceText{{"profile", "Profile using the brand's logo and name", "brand misuse"},
			{"message", "Message asking for a login code", "credential request"}},
		notes:     []string{"Brand confirms the account is not theirs.", "Original creator filed the report."},
		findings:  []string{"The account impersonated a brand to collect credentials from {n} users."},
		behaviors: []string{"brand impersonation"},
	}},
	"ip_infringement": {team: "fraud", text: areaText{
		titles:    []string{"Counterfeit {product} listings by {handle}", "Pirated match streams on {handle}"},
		summaries: []string{"Rights holder reports listings of replica goods.", "The account rebroadcasts paid sports streams."},
		evidence: []evidenceText{{"listing", "Replica {product} listing using the brand's photos", "counterfeit"},
			{"live", "Live stream of a paid sports broadcast", "rebroadcast"}},
		notes:     []string{"Rights holder's notice is complete.", "Seller has prior takedowns."},
		findings:  []string{"The listings sell replicas of a protected brand."},
		behaviors: []string{"counterfeit listings"},
	}},
	"regulated_goods": {team: "fraud", text: areaText{
		titles:    []string{"Sale of prescription drugs by {handle}", "Vape sales to buyers in {region}", "Firearm parts listed by {handle}"},
		summaries: []string{"Listings offer prescription medicine without a prescription.", "Coded listings sell regulated goods using emoji instead of product names."},
		evidence: []evidenceText{{"listing", "Listing with coded product names", "coded listing"},
			{"message", "Message negotiating delivery without age check", "no age verification"}},
		notes:     []string{"Coded terms match our regulated goods glossary.", "Buyer account appears to be a minor."},
		findings:  []string{"The seller listed regulated goods under coded names."},
		behaviors: []string{"coded listings"},
	}},
	"harassment": {team: "safety", vendor: "northstar", text: areaText{
		titles:    []string{"Harassment campaign against a creator by {handle}", "Coordinated replies targeting a streamer", "Repeated abusive messages from {handle}"},
		summaries: []string{"A group of accounts floods a creator's comments with insults after a video.", "The reporter receives abusive messages from new accounts every day."},
		evidence: []evidenceText{{"comment", "Abusive comments posted within minutes of each other", "targeted abuse"},
			{"message", "Message with insults after being blocked", "block evasion"}},
		notes:     []string{"Accounts coordinate in an off-platform group.", "Reporter asked for the comments to be hidden."},
		findings:  []string{"{n} accounts took part in a coordinated harassment campaign."},
		behaviors: []string{"brigading", "block evasion"},
	}},
	"hate_speech": {team: "safety", vendor: "northstar", text: areaText{
		titles:    []string{"Hateful slurs in {handle}'s live stream", "Dehumanising posts by {handle}"},
		summaries: []string{"The account repeatedly uses slurs against a protected group during live streams.", "Posts compare a protected group to vermin."},
		evidence: []evidenceText{{"live", "Live stream segment with slurs", "hateful conduct"},
			{"comment", "Comment thread using dehumanising language", "dehumanisation"}},
		notes:     []string{"Context reviewed: not counter-speech.", "Similar posts were removed last month."},
		findings:  []string{"Repeated hateful conduct across {n} posts."},
		behaviors: []string{"slurs"},
	}},
	"misinformation": {team: "safety", vendor: "northstar", text: areaText{
		titles:    []string{"False voting-date claims from {handle}", "Miracle cure claims in {handle}'s videos"},
		summaries: []string{"Videos tell viewers in {region} the wrong date to vote.", "The account claims a supplement cures a serious illness."},
		evidence: []evidenceText{{"video", "Video stating a wrong election date", "civic misinformation"},
			{"other", "Post promoting an unproven cure", "health misinformation"}},
		notes:     []string{"Fact-check partner rated the claim false.", "Claim spread to other accounts."},
		findings:  []string{"The account spread a claim rated false by {n} fact-checkers."},
		behaviors: []string{"repeat misinformation"},
	}},
	"violent_extremism": {team: "safety", text: areaText{
		titles:    []string{"Recruitment content for a banned group by {handle}", "Attack glorification in {handle}'s videos"},
		summaries: []string{"Videos praise a designated violent group and link to its channels.", "Posts celebrate a recent attack and call for more."},
		evidence: []evidenceText{{"video", "Video with the group's insignia and recruitment call", "recruitment"},
			{"other", "Post praising the attacker", "glorification"}},
		notes:     []string{"Matched against the hash-sharing database.", "Escalated to the law enforcement response team."},
		findings:  []string{"The account distributed recruitment material for a designated group."},
		behaviors: []string{"recruitment"},
	}},
	"child_safety": {team: "safety", text: areaText{
		titles:    []string{"Adult contacting minors through {handle}", "Grooming pattern in direct messages"},
		summaries: []string{"An adult account sends gifts and private messages to accounts that appear to belong to minors.", "Messages move conversations with minors to another app."},
		evidence: []evidenceText{{"message", "Messages moving a conversation to another app", "grooming pattern"},
			{"profile", "Profile listing an adult age while following many minors", "age mismatch"}},
		notes:     []string{"Reported to the national hotline.", "Evidence preserved under legal hold."},
		findings:  []string{"The account followed a grooming pattern with {n} minors."},
		behaviors: []string{"grooming"},
	}},
	"self_harm": {team: "safety", text: areaText{
		titles:    []string{"Self-harm encouragement in {handle}'s comments", "Livestream with a user at risk"},
		summaries: []string{"Comments encourage a user who posted about self-harm.", "A live stream shows a user at risk; viewers egg them on."},
		evidence: []evidenceText{{"comment", "Comments encouraging self-harm", "encouragement"},
			{"live", "Live stream flagged by the at-risk classifier", "at-risk user"}},
		notes:     []string{"Welfare check requested.", "Support resources were sent to the user."},
		findings:  []string{"Commenters encouraged self-harm; the at-risk user was offered support."},
		behaviors: []string{"encouragement of self-harm"},
	}},
	"privacy": {team: "safety", text: areaText{
		titles:    []string{"Doxxing of a reporter by {handle}", "Private photos shared without consent"},
		summaries: []string{"The account posted a person's home address and workplace.", "Intimate images of a person were shared without their consent."},
		evidence: []evidenceText{{"other", "Post with a home address", "personal data"},
			{"message", "Message threatening to share images", "threat"}},
		notes:     []string{"Victim confirmed the images are theirs.", "Address removed on first review."},
		findings:  []string{"The account published private information of {n} people."},
		behaviors: []string{"doxxing"},
	}},
}

var (
	regions  = []struct{ code, name string }{{"US", "the United States"}, {"DE", "Germany"}, {"BR", "Brazil"}, {"IN", "India"}, {"GB", "the United Kingdom"}, {"PH", "the Philippines"}, {"MX", "Mexico"}, {"FR", "France"}, {"ID", "Indonesia"}, {"NG", "Nigeria"}}
	products = []string{"headphones", "sneakers", "phone", "handbag", "smartwatch", "game console", "perfume", "camera lens"}
	// Handles are made of two parts and digits, so that no handle is a
	// word of the postmortems (the PII scan matches handles as words).
	handleFirst  = []string{"best", "top", "real", "daily", "mega", "true", "fast", "lucky", "urban", "prime", "vivid", "nova"}
	handleSecond = []string{"deals", "finds", "store", "vibes", "picks", "shop", "outlet", "market", "trends", "hub", "zone", "corner"}
	features     = []string{"live_streaming", "direct_messages", "listings", "comments", "payouts"}
)

// incidentTheme is a kind of incident: its title, detection, impact,
// root causes (one per category it can have), action items and the
// postmortem's narrative.
type incidentTheme struct {
	title     string
	area      string
	detection string
	impact    string
	causes    []causeText
	factors   []string
	gaps      [][2]string
	items     []itemText
	response  string
	wentWell  string
	wentWrong string
	lucky     string
	lessons   string
	timeline  []string
	problem   string
}

type causeText struct {
	category, subcategory, text string
	vendor                      bool
}

type itemText struct {
	title, kind string
	cause       int // index into causes, -1 for none
}

var themes = []incidentTheme{
	{title: "Refund scam wave missed by detection", area: "fraud_scam",
		detection: "Buyer reports piled up in a queue staffed only on weekdays.",
		impact:    "Buyers lost money to fake listings before the accounts were removed.",
		problem:   "A refund scam wave ran for two days before anyone acted on it.",
		causes: []causeText{
			{"product", "detection_gap", "The scam classifier was never trained on refund-scam scripts, so none of the listings scored above the review threshold", false},
			{"process", "capacity", "The weekend queue had one reviewer for a volume forecast at four", false},
			{"policy", "ambiguous_policy", "The fraud policy did not say whether off-platform refund requests alone are a violation", false},
		},
		factors: []string{"A holiday weekend", "Reports were routed to the general queue"},
		gaps:    [][2]string{{"Manual sweep of high-risk sellers", "It runs weekly and the wave lasted two days"}},
		items: []itemText{{"Add refund-scam scripts to the classifier's training set", "detect", 0},
			{"Staff the weekend fraud queue to forecast", "process", 1}, {"Clarify off-platform payment requests in the fraud policy", "policy", 2}},
		response: "Fraud leads pulled the listings by hand and contacted affected buyers.", wentWell: "Buyers' reports were detailed and consistent.",
		wentWrong: "Reports sat unread for a day.", lucky: "The payment processor held most payouts.", lessons: "Weekend staffing must follow the forecast.",
		timeline: []string{"First buyer report", "Reports reach the general queue", "A lead notices the cluster", "Listings removed", "Buyers contacted"},
	},
	{title: "Vendor queue error spike after guideline change", area: "harassment",
		detection: "The weekly QA sample showed agreement dropping for one vendor.",
		impact:    "Harassment reports were closed as no violation when they were violations.",
		problem:   "A vendor's reviewers misapplied a changed guideline for a week.",
		causes: []causeText{
			{"process", "training_gap", "Vendor reviewers were not trained on the updated harassment guideline before it went live", true},
			{"process", "vendor_execution", "The vendor's team leads did not run the agreed calibration session", true},
			{"policy", "outdated_policy", "The examples in the harassment guideline still showed the old threshold", false},
		},
		factors: []string{"The guideline changed mid-week", "New vendor staff started the same week"},
		gaps:    [][2]string{{"QA sampling at five percent", "Too small a sample to catch a drop within days"}},
		items: []itemText{{"Train vendor reviewers before every guideline change", "process", 0},
			{"Audit the vendor's calibration sessions", "process", 1}, {"Replace the outdated examples in the guideline", "policy", 2}},
		response: "Affected decisions were re-reviewed in-house.", wentWell: "QA caught the drop within a week.",
		wentWrong: "Nobody confirmed the vendor had trained its staff.", lucky: "Most affected reporters had also blocked the accounts.",
		lessons:  "A guideline change is not live until the vendor is trained.",
		timeline: []string{"Guideline change published", "Vendor reviewers start closing reports", "QA agreement drops", "Vendor paused on the queue", "Decisions re-reviewed"},
	},
	{title: "Spam filter outage after a config deploy", area: "spam",
		detection: "Spam reports tripled within an hour of a deploy.",
		impact:    "Link spam reached users' comments for most of a day.",
		problem:   "A configuration change switched the spam filter off.",
		causes: []causeText{
			{"product", "bug", "A configuration change set the spam filter's threshold to a value that disabled it", false},
			{"product", "infrastructure", "The filter's health check only tested that the service answered, not that it blocked anything", false},
			{"process", "handoff", "The on-call engineer did not know the trust team owned the filter's thresholds", false},
		},
		factors: []string{"The deploy happened late on a Friday"},
		gaps:    [][2]string{{"Rollback runbook", "It did not cover configuration-only changes"}},
		items: []itemText{{"Validate filter thresholds in the deploy pipeline", "prevent", 0},
			{"Alert on blocked-spam rate, not only on uptime", "detect", 1}, {"Document who owns spam thresholds", "process", 2}},
		response: "The change was rolled back and spam comments were removed in bulk.", wentWell: "The rollback took minutes once started.",
		wentWrong: "It took hours to connect the spike to the deploy.", lucky: "The spam links pointed to a domain already blocked at click time.",
		lessons:  "Monitor what a filter does, not only whether it runs.",
		timeline: []string{"Config deploy", "Spam reports rise", "Alert on report volume", "Deploy identified", "Rollback", "Bulk removal finished"},
	},
	{title: "Counterfeit listings through a new category", area: "ip_infringement",
		detection: "A rights holder sent a bulk notice listing hundreds of replica items.",
		impact:    "Replica goods were sold to buyers for two weeks.",
		problem:   "A new marketplace category launched without counterfeit checks.",
		causes: []causeText{
			{"product", "tooling_gap", "The new category was launched without the brand-protection checks other categories have", false},
			{"policy", "policy_gap", "The IP policy had no rule for listings that name a brand only in photos", false},
			{"process", "sop_gap", "The launch checklist had no trust and safety sign-off step", false},
		},
		factors: []string{"Launch date moved forward by a week"},
		gaps:    [][2]string{{"Rights holder reporting portal", "Rights holders only learn of listings after buyers complain"}},
		items: []itemText{{"Run brand-protection checks on every category", "prevent", 0},
			{"Cover photo-only brand use in the IP policy", "policy", 1}, {"Add trust and safety sign-off to the launch checklist", "process", 2}},
		response: "Listings were removed in bulk and buyers refunded.", wentWell: "The rights holder's notice was complete.",
		wentWrong: "The category had no owner in trust and safety.", lucky: "Few items had shipped yet.",
		lessons:  "No launch without a trust and safety review.",
		timeline: []string{"Category launched", "First replica listings", "Rights holder notice", "Bulk removal", "Refunds issued"},
	},
	{title: "Livestream gifting abuse by a fake engagement ring", area: "fake_engagement",
		detection: "Payments risk flagged unusual gift volume to a small set of streams.",
		impact:    "Stolen cards were laundered through livestream gifts.",
		problem:   "A ring used stolen cards to buy gifts for their own streams.",
		causes: []causeText{
			{"product", "model_quality", "The gifting risk model had not been retrained since gifting prices changed", false},
			{"policy", "conflicting_guidance", "The engagement policy and the payments policy disagreed on who acts on gift abuse", false},
			{"process", "human_error", "A reviewer cleared the first alert as a false positive without checking the payer accounts", false},
		},
		factors: []string{"A promotion doubled gift volume that week"},
		gaps:    [][2]string{{"Velocity limits on gifting", "Limits were per account, and the ring used many accounts"}},
		items: []itemText{{"Retrain the gifting risk model", "detect", 0},
			{"Decide one owner for gift abuse", "policy", 1}, {"Require payer checks before clearing gifting alerts", "process", 2}},
		response: "Streams were suspended and gifts reversed.", wentWell: "Payments and trust teams worked in one channel.",
		wentWrong: "The first alert was dismissed.", lucky: "The card issuer flagged the cards the same day.",
		lessons:  "Two policies covering one abuse means nobody owns it.",
		timeline: []string{"Gift volume rises", "First alert dismissed", "Payments risk escalates", "Streams suspended", "Gifts reversed"},
	},
	{title: "Misinformation surge before a regional election", area: "misinformation",
		detection: "The fact-check partner escalated a set of viral videos.",
		impact:    "False voting information reached a large audience in one region.",
		problem:   "False voting-date claims spread faster than reviews.",
		causes: []causeText{
			{"policy", "policy_gap", "The civic policy covered false claims about results but not about voting procedures", false},
			{"process", "capacity", "The civic queue had no reviewers who speak the region's language", false},
			{"product", "detection_gap", "Detection relied on text and missed claims made only in speech", false},
		},
		factors: []string{"The claims were in a regional language"},
		gaps:    [][2]string{{"Election readiness plan", "It listed national elections only"}},
		items: []itemText{{"Extend the civic policy to voting procedures", "policy", 0},
			{"Staff language coverage for regional elections", "process", 1}, {"Add speech transcripts to civic detection", "detect", 2}},
		response: "Videos were labelled and their reach limited.", wentWell: "The partner escalation came with translations.",
		wentWrong: "Reviewers could not judge the claims without translation.", lucky: "Election authorities published a correction quickly.",
		lessons:  "Regional elections need the same readiness as national ones.",
		timeline: []string{"Videos start spreading", "Partner escalation", "Translations received", "Labels applied", "Reach limited"},
	},
}
