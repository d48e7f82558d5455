/**
 * Word and phrase lists the content generators draw from. All names and companies are
 * fictional (Microsoft's sample companies and made-up people); phone numbers use the 555-01xx
 * range reserved for fiction.
 */

export const GIVEN_NAMES = [
  'Aaron', 'Abigail', 'Adriana', 'Ahmed', 'Aiko', 'Alan', 'Alejandro', 'Amelia', 'Ana', 'Andrea', 'Anil', 'Anna', 'Arjun', 'Ben',
  'Bianca', 'Carlos', 'Charlotte', 'Chen', 'Chloe', 'Daniel', 'David', 'Diego', 'Elena', 'Elif', 'Emily', 'Emma', 'Erik', 'Fatima',
  'Felix', 'Florian', 'Grace', 'Hannah', 'Hiroshi', 'Ines', 'Isaac', 'Ivan', 'Jack', 'James', 'Jana', 'Javier', 'Jin', 'Johan',
  'Julia', 'Kai', 'Karen', 'Kenji', 'Laura', 'Lena', 'Leo', 'Liam', 'Lucia', 'Luis', 'Maja', 'Marco', 'Maria', 'Mark', 'Mateo',
  'Mei', 'Mia', 'Michael', 'Mohammed', 'Nadia', 'Naomi', 'Nina', 'Noah', 'Olivia', 'Omar', 'Paul', 'Pedro', 'Priya', 'Rachel',
  'Rahul', 'Rosa', 'Ryan', 'Sakura', 'Samuel', 'Sara', 'Sebastian', 'Sofia', 'Sophie', 'Stefan', 'Tariq', 'Thomas', 'Tom', 'Valentina',
  'Victor', 'Wei', 'William', 'Yara', 'Yusuf', 'Zoe',
] as const;

export const SURNAMES = [
  'Abbott', 'Alvarez', 'Andersen', 'Bauer', 'Becker', 'Bennett', 'Berg', 'Brooks', 'Castro', 'Chen', 'Clarke', 'Costa', 'Dalton',
  'Das', 'Diaz', 'Dubois', 'Eriksson', 'Evans', 'Fischer', 'Fong', 'Garcia', 'Gupta', 'Hall', 'Hansen', 'Hayes', 'Hoffmann', 'Ito',
  'Jansen', 'Jensen', 'Kapoor', 'Kato', 'Keller', 'Kim', 'Kowalski', 'Larsen', 'Lee', 'Lindqvist', 'Lopez', 'Martin', 'Meyer',
  'Mitchell', 'Moreau', 'Morgan', 'Murphy', 'Nakamura', 'Nguyen', 'Novak', 'Okafor', 'Olsen', 'Ortiz', 'Park', 'Patel', 'Perez',
  'Petrov', 'Quinn', 'Ramirez', 'Reyes', 'Richter', 'Rossi', 'Santos', 'Schmidt', 'Schulz', 'Silva', 'Singh', 'Suzuki', 'Tanaka',
  'Taylor', 'Torres', 'Vargas', 'Walsh', 'Weber', 'Wilson', 'Wong', 'Yamamoto', 'Young', 'Zhang',
] as const;

/** External organisations (Microsoft's fictional sample companies). */
export const EXTERNAL_COMPANIES = [
  { name: 'Fabrikam, Inc.', domain: 'fabrikam.com' },
  { name: 'Northwind Traders', domain: 'northwindtraders.com' },
  { name: 'Adventure Works Cycles', domain: 'adventure-works.com' },
  { name: 'Tailspin Toys', domain: 'tailspintoys.com' },
  { name: 'Wide World Importers', domain: 'wideworldimporters.com' },
  { name: 'Litware, Inc.', domain: 'litwareinc.com' },
  { name: 'A. Datum Corporation', domain: 'adatum.com' },
  { name: 'Woodgrove Bank', domain: 'woodgrovebank.com' },
  { name: 'Proseware, Inc.', domain: 'proseware.com' },
  { name: 'Lucerne Publishing', domain: 'lucernepublishing.com' },
  { name: 'Coho Winery', domain: 'cohowinery.com' },
  { name: 'Fourth Coffee', domain: 'fourthcoffee.com' },
] as const;

export const DEPARTMENTS = ['Sales', 'Operations', 'Finance', 'Customer Service', 'Logistics', 'Marketing', 'IT', 'Human Resources', 'Procurement', 'Legal'] as const;

export const JOB_TITLES = [
  'Account Manager', 'Operations Manager', 'Financial Analyst', 'Customer Service Representative', 'Logistics Coordinator',
  'Marketing Specialist', 'Systems Administrator', 'HR Business Partner', 'Buyer', 'Legal Counsel', 'Project Manager',
  'Sales Director', 'Dispatcher', 'Warehouse Supervisor', 'Controller', 'Product Owner', 'Software Engineer', 'Office Manager',
] as const;

export const CITIES = [
  { city: 'Seattle', phonePrefix: '+1 206 555' },
  { city: 'Redmond', phonePrefix: '+1 425 555' },
  { city: 'Chicago', phonePrefix: '+1 312 555' },
  { city: 'London', phonePrefix: '+44 20 7946' },
  { city: 'Munich', phonePrefix: '+49 89 5550' },
  { city: 'Amsterdam', phonePrefix: '+31 20 555' },
  { city: 'Lisbon', phonePrefix: '+351 21 555' },
] as const;

export const MEETING_ROOMS = [
  'Conf Room Rainier (12)', 'Conf Room Baker (8)', 'Conf Room Adams (4)', 'Conf Room Olympus (20)', 'Building 4 / 1201',
  'Microsoft Teams Meeting', 'Microsoft Teams Meeting', 'Microsoft Teams Meeting', 'Cafeteria', "Customer's office", 'Warehouse B, loading dock',
] as const;

export const CATEGORIES = ['Red category', 'Blue category', 'Green category', 'Yellow category', 'Follow up', 'Project Falcon', 'Customer'] as const;

/** Topics of e-mail threads; combined with a reference to make subjects like "Invoice INV-20412 overdue". */
export const MESSAGE_TOPICS = [
  'Quarterly business review', 'Invoice {ref} overdue', 'Delivery schedule for next week', 'Purchase order {ref}', 'Updated price list',
  'Contract renewal', 'Onboarding checklist', 'Team offsite planning', 'Warehouse inventory count', 'Shipment {ref} delayed',
  'Budget forecast', 'Customer complaint {ref}', 'Project Falcon status update', 'New hire introduction', 'Travel arrangements',
  'Expense report {ref}', 'Security awareness training', 'Server maintenance window', 'Proposal draft for review', 'Meeting notes',
  'Sales pipeline review', 'Returns process change', 'Holiday opening hours', 'Vendor evaluation', 'Change request {ref}',
  'Quote request {ref}', 'Pallet pickup confirmation', 'Service ticket {ref}', 'Data migration plan', 'Marketing campaign results',
  'Compliance audit preparation', 'Request for information', 'Product launch timeline', 'Feedback on the new portal',
  'Delivery request {ref}', 'Route planning for the north region', 'Late delivery at {company}', 'Signed agreement attached',
] as const;

export const MEETING_SUBJECTS = [
  'Weekly team sync', '1:1', 'Project Falcon stand-up', 'Quarterly business review with {company}', 'Budget planning', 'Sprint review',
  'Customer call: {company}', 'Interview: {role}', 'Dispatch planning', 'Vendor demo', 'All hands', 'Training: new routing tool',
  'Lunch with {name}', 'Architecture review', 'Contract negotiation', 'Site visit at {company}', 'Retrospective', 'Board preparation',
] as const;

export const ALL_DAY_SUBJECTS = ['Company offsite', 'Public holiday', 'Out of office', 'Trade fair', 'Inventory day', 'Training day'] as const;

export const TASK_SUBJECTS = [
  'Prepare Q{quarter} budget review', 'Send signed contract to {company}', 'Follow up on invoice {ref}', 'Book travel to {city}',
  'Update the delivery schedule', 'Review proposal from {company}', 'Renew software licences', 'Collect expense receipts',
  'Call {name} about the shipment', 'Draft onboarding plan', 'Check warehouse stock levels', 'Approve purchase order {ref}',
  'Write meeting minutes', 'Plan team offsite', 'Archive closed tickets', 'Prepare training slides',
] as const;

export const GREETINGS = ['Hi {first},', 'Hello {first},', 'Dear {first},', 'Hi all,', 'Good morning {first},', '{first},', 'Hi team,'] as const;

export const CLOSINGS = ['Best regards,', 'Kind regards,', 'Thanks,', 'Many thanks,', 'Cheers,', 'Regards,', 'Thank you,'] as const;

/** Sentences for message bodies, grouped loosely; paragraphs draw 2-4 of them. */
export const SENTENCES = [
  'Please find the updated figures below.',
  'I wanted to follow up on our conversation from last week.',
  'Could you confirm the delivery date by Thursday?',
  'The numbers look good overall, but the freight costs are higher than planned.',
  'We are still waiting for the signed copy from the customer.',
  'Let me know if anything is unclear or if you need more details.',
  'I have attached the latest version for your review.',
  'The warehouse team will start the count on Monday morning.',
  'As discussed, we will move the deadline to the end of the month.',
  'Can we schedule a short call to go through the open points?',
  'The shipment left the distribution centre this morning and should arrive within two days.',
  'Our finance team has flagged the invoice as overdue.',
  'I spoke with the carrier and they can offer an earlier pickup slot.',
  'Please make sure the purchase order number is on every invoice.',
  'The new process will apply to all orders placed after the first of the month.',
  'Thanks for the quick turnaround on this.',
  'I will be out of the office on Friday, so please contact Bob in the meantime.',
  'The customer asked whether we can split the delivery into two parts.',
  'We need the final headcount by Wednesday to book the venue.',
  'The maintenance window is planned for Saturday between 22:00 and 02:00.',
  'There were no issues reported during the last release.',
  'I have added the action items to the shared tracker.',
  'Could you share the contact details of the person responsible on their side?',
  'We agreed to revisit the pricing once the volumes are confirmed.',
  'Please review the draft and add your comments directly in the document.',
  'The route for the north region has been updated to avoid the road works.',
  'Two pallets were damaged in transit and the customer has requested a credit note.',
  'I think we should involve legal before we sign anything.',
  'The training session will be recorded for those who cannot attend.',
  'Attendance is mandatory for all team leads.',
  'The quote is valid for thirty days from today.',
  'We are on track for the launch, with one open risk around the supplier.',
  'Can you check whether the stock levels in the system match the physical count?',
  'The budget for the next quarter has been approved with minor changes.',
  'I have forwarded your question to the product team.',
  'Please use the new template for all expense reports from now on.',
  'The driver will call thirty minutes before arrival.',
  'Let us aim to close this by the end of the week.',
  'I have cc\'d Carol, who is taking over the account.',
  'The portal will be read-only during the migration.',
  'Feedback from the pilot group has been very positive so far.',
  'We should document the workaround until the fix is deployed.',
  'I am happy to present the results at the next all hands.',
  'The contract renewal is due in six weeks, so we should start the review now.',
  'There is a small discrepancy between the order and the delivery note.',
  'Could you send me the tracking numbers for yesterday\'s shipments?',
  'The customer confirmed that someone will be on site to receive the goods.',
  'Please do not reply to the whole list with individual answers.',
  'Let me know which slot works best for you.',
  'The updated price list takes effect next month.',
] as const;

export const REPLY_OPENERS = [
  'Thanks, that works for me.', 'Sounds good, let us go ahead.', 'Thanks for the update.', 'Noted, I will take care of it.',
  'Could you clarify the second point?', 'Agreed. I have updated the tracker.', 'Thanks! See my comments below.',
  'I have checked with the team and we can do Thursday.', 'Sorry for the late reply.', 'Great news, thanks for pushing this.',
  'Adding Carol for visibility.', 'Please see the attached file.',
] as const;

export const FORWARD_OPENERS = [
  'FYI, see below.', 'Forwarding for your information.', 'Can you take a look at this?', 'Please handle, thanks.',
  'See the message below from the customer.', 'Forwarding as discussed.',
] as const;

export const JUNK_SUBJECTS = [
  'You have won a gift card', 'Urgent: verify your account now', 'Limited offer: 70% off office supplies',
  'Payment failed - action required', 'Your parcel could not be delivered', 'Congratulations, you are selected',
] as const;

export const ATTACHMENT_NAMES = [
  { name: 'Invoice.pdf', contentType: 'application/pdf' },
  { name: 'Delivery-note.pdf', contentType: 'application/pdf' },
  { name: 'Price-list.xlsx', contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' },
  { name: 'Meeting-notes.docx', contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' },
  { name: 'Route-map.png', contentType: 'image/png' },
  { name: 'Orders.csv', contentType: 'text/csv' },
] as const;

/** Fills {placeholders} from `values`; unknown ones are left as they are. */
export function fillTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (match, key: string) => values[key] ?? match);
}
